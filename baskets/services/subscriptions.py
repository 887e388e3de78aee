"""Changing a subscription: skip a week, pause, resume, cancel; and its coming delivery dates.

Every write locks the subscription row first (``SELECT … FOR UPDATE``): two tabs changing one
subscription at once are applied one after the other, each seeing the other's result. The
renewal (baskets.services.renewal) takes the same lock, so a change racing the cutoff either
lands before the renewal (and counts) or after it (and applies from the following delivery).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from baskets.models import BasketSubscription, SubscriptionSkip, SubscriptionStatus
from delivery.calendar import (
    closed_dates,
    delivery_cutoff,
    delivery_dates_upcoming,
    is_delivery_day,
    local_today,
)


class SubscriptionChangeError(Exception):
    """A change the shopper asked for cannot be made; ``message`` says why, translated."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _locked(subscription_id: int) -> BasketSubscription:
    return (
        BasketSubscription.objects.select_for_update(of=("self",))
        .select_related("district")
        .get(pk=subscription_id)
    )


def _refuse_cancelled(subscription: BasketSubscription) -> None:
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise SubscriptionChangeError(_("This subscription is cancelled."))


def _date_label(day: date) -> str:
    return formats.date_format(day, "l j F Y")


def subscription_due_dates(
    *, subscription: BasketSubscription, count: int, now: datetime | None = None
) -> list[date]:
    """The next ``count`` dates this subscription will be delivered on (still before their
    cutoff), soonest first: the district's delivery dates from ``starts_on``, minus skipped
    weeks and the pause. Empty for a cancelled subscription."""
    if subscription.status == SubscriptionStatus.CANCELLED or count <= 0:
        return []
    skipped = set(subscription.skips.values_list("delivery_date", flat=True))
    days = delivery_dates_upcoming(
        district=subscription.district, now=now, not_before=subscription.starts_on
    )
    due = [day for day in days if day not in skipped and not subscription.is_paused_on(day)]
    return due[:count]


def subscription_fixed_delivery(*, subscription: BasketSubscription, now: datetime) -> date | None:
    """A coming delivery whose cutoff has passed: its order is fixed, so a change made now
    applies from the following delivery. None when there is none."""
    if subscription.status == SubscriptionStatus.CANCELLED:
        return None
    today = local_today(now=now)
    start = max(today, subscription.starts_on)
    end = start + timedelta(days=6)
    district = subscription.district
    closed = closed_dates(district_id=district.pk, start=start, end=end)
    skipped = set(subscription.skips.values_list("delivery_date", flat=True))
    for offset in range(7):
        day = start + timedelta(days=offset)
        if (
            is_delivery_day(district=district, day=day, closed=closed)
            and now >= delivery_cutoff(day=day)
            and day not in skipped
            and not subscription.is_paused_on(day, cutoff=delivery_cutoff(day=day))
        ):
            return day
    return None


@transaction.atomic
def subscription_skip(
    *, subscription_id: int, delivery_date: date, now: datetime | None = None
) -> SubscriptionSkip:
    """Skip one delivery date. Refuses a date that is not one of the district's delivery
    dates, a past one, or one whose cutoff has passed (its order is already fixed).
    Idempotent: skipping a skipped week returns the existing skip."""
    now = now or timezone.now()
    subscription = _locked(subscription_id)
    _refuse_cancelled(subscription)
    if delivery_date < local_today(now=now):
        raise SubscriptionChangeError(_("This delivery date is in the past."))
    if now >= delivery_cutoff(day=delivery_date):
        raise SubscriptionChangeError(
            _(
                "The order for %(date)s is already fixed: it is too late to skip it. "
                "You can still skip the following weeks."
            )
            % {"date": _date_label(delivery_date)}
        )
    district = subscription.district
    closed = closed_dates(district_id=district.pk, start=delivery_date, end=delivery_date)
    if not is_delivery_day(district=district, day=delivery_date, closed=closed):
        raise SubscriptionChangeError(
            _("There is no delivery in %(district)s on %(date)s.")
            % {"district": district.short_name, "date": _date_label(delivery_date)}
        )
    existing = SubscriptionSkip.objects.filter(
        subscription=subscription, delivery_date=delivery_date
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return SubscriptionSkip.objects.create(
                subscription=subscription, delivery_date=delivery_date
            )
    except IntegrityError:
        # Not reachable under the row lock; kept for writers that do not take it.
        return SubscriptionSkip.objects.get(subscription=subscription, delivery_date=delivery_date)


@transaction.atomic
def subscription_pause(
    *, subscription_id: int, until: date, now: datetime | None = None
) -> BasketSubscription:
    """Pause deliveries until ``until`` (deliveries resume on the first delivery date on or
    after it). Refuses a date that is not in the future. A delivery whose cutoff has passed
    is already fixed and still comes, renewed or not yet: the pause applies from the
    following one."""
    now = now or timezone.now()
    subscription = _locked(subscription_id)
    _refuse_cancelled(subscription)
    if until <= local_today(now=now):
        raise SubscriptionChangeError(_("Please choose a date in the future to resume."))
    subscription.status = SubscriptionStatus.PAUSED
    subscription.paused_until = until
    subscription.paused_at = now
    subscription.save(update_fields=["status", "paused_until", "paused_at", "updated_at"])
    return subscription


@transaction.atomic
def subscription_resume(*, subscription_id: int) -> BasketSubscription:
    """End a pause now. Resuming an active subscription changes nothing."""
    subscription = _locked(subscription_id)
    _refuse_cancelled(subscription)
    if subscription.status == SubscriptionStatus.PAUSED:
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.paused_until = None
        subscription.paused_at = None
        subscription.save(update_fields=["status", "paused_until", "paused_at", "updated_at"])
    return subscription


@transaction.atomic
def subscription_cancel(
    *, subscription_id: int, reason: str = "", now: datetime | None = None
) -> BasketSubscription:
    """Cancel for good. Idempotent: cancelling twice keeps the first date and reason. A
    delivery whose cutoff has passed is already fixed and still comes (and is charged), even
    when its renewal has not run yet."""
    subscription = _locked(subscription_id)
    if subscription.status == SubscriptionStatus.CANCELLED:
        return subscription
    subscription.status = SubscriptionStatus.CANCELLED
    subscription.paused_until = None
    subscription.paused_at = None
    subscription.cancelled_at = now or timezone.now()
    subscription.cancel_reason = reason.strip()[:2000]
    subscription.save(
        update_fields=[
            "status",
            "paused_until",
            "paused_at",
            "cancelled_at",
            "cancel_reason",
            "updated_at",
        ]
    )
    return subscription
