"""Changing a subscription: skip a week, pause, resume, cancel, change basket, household size
or address; and its coming delivery dates.

Every write locks the subscription row first (``SELECT … FOR UPDATE``): two tabs changing one
subscription at once are applied one after the other, each seeing the other's result. The
renewal (baskets.services.renewal) takes the same lock, so a change racing the cutoff either
lands before the renewal (and counts) or after it (and applies from the following delivery).

Basket, size and address have no "as of" date on the row (pause and cancel have theirs): the
renewal places a fixed delivery's order with the subscription as it is when it runs. So between
a cutoff and the moment that delivery's order exists (the dispatcher runs every few minutes),
those changes are refused with "try again in a few minutes"; once the order exists they apply
from the following delivery, the fixed order keeping its basket and address.

Each change the shopper makes is confirmed by the "subscription changed" email, sent once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from baskets.models import (
    BasketSubscription,
    MessageKind,
    RenewalStatus,
    SubscriptionMessage,
    SubscriptionRenewal,
    SubscriptionSkip,
    SubscriptionStatus,
)
from baskets.services.notifications import subscription_message_send
from baskets.storefront import sellable_variants
from delivery.calendar import (
    closed_dates,
    delivery_cutoff,
    delivery_dates_upcoming,
    horizon_end,
    is_delivery_day,
    local_today,
)
from delivery.models import District, OrderDelivery, Weekday
from delivery.postcodes import Eligibility, postcode_lookup
from essentiels.oscar_forks.partner.strategy import Selector

# BasketSubscription.quantity's validators.
QUANTITY_MAX = 10
# Renewals that deliver nothing: their week is free for another delivery.
_NOT_DELIVERED = (RenewalStatus.FAILED, RenewalStatus.CANCELLED)


class SubscriptionChangeError(Exception):
    """A change the shopper asked for cannot be made; ``message`` says why, translated."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _locked(subscription_id: int) -> BasketSubscription:
    # The row alone, no join: waiting for a lock, PostgreSQL re-checks the join against the
    # joined row as it was, so a lock joined to the district (or the variant) finds no row at
    # all once the tab before it changed the address's district (or the basket).
    return BasketSubscription.objects.select_for_update().get(pk=subscription_id)


def _refuse_cancelled(subscription: BasketSubscription) -> None:
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise SubscriptionChangeError(_("This subscription is cancelled."))


def _date_label(day: date) -> str:
    return formats.date_format(day, "l j F Y")


def _changed_email(
    *,
    subscription: BasketSubscription,
    change: str,
    context: dict[str, Any] | None = None,
    delivery_date: date | None = None,
    once_as: str | None = None,
) -> None:
    """The "subscription changed" email confirming ``change`` (basket, address, skip, pause,
    resume, cancel), sent after commit. Its key is unique per change: ``once_as`` names a change
    that can happen only once (a skipped date, the cancellation); otherwise the change's rank,
    counted under the subscription's row lock that every change holds."""
    if once_as is None:
        rank = SubscriptionMessage.objects.filter(
            subscription=subscription, kind=MessageKind.CHANGED
        ).count()
        once_as = str(rank + 1)
    subscription_message_send(
        subscription=subscription,
        kind=MessageKind.CHANGED,
        key=f"changed-{subscription.pk}-{change}-{once_as}",
        context={"change": change, **(context or {})},
        delivery_date=delivery_date,
    )


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


def _fixed_by_calendar(*, subscription: BasketSubscription, now: datetime) -> date | None:
    """The coming delivery date of the subscription's district whose cutoff has passed."""
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


def subscription_fixed_delivery(*, subscription: BasketSubscription, now: datetime) -> date | None:
    """A coming delivery whose cutoff has passed: its order is fixed, so a change made now
    applies from the following delivery. None when there is none. After a change of district
    it may be a date of the old district: its order (already placed) keeps the old address."""
    if subscription.status == SubscriptionStatus.CANCELLED:
        return None
    today = local_today(now=now)
    placed = (
        subscription.renewals.filter(
            delivery_date__gte=today, delivery_date__lte=today + timedelta(days=6)
        )
        .exclude(status__in=_NOT_DELIVERED)
        .aggregate(first=Min("delivery_date"))["first"]
    )
    days = [d for d in (placed, _fixed_by_calendar(subscription=subscription, now=now)) if d]
    return min(days) if days else None


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
    # Within the calendar's horizon (the page shows the next few dates): one skip row and one
    # email per posted date, so a script must not be able to post every Tuesday to year 9999.
    if delivery_date > horizon_end(today=local_today(now=now)):
        raise SubscriptionChangeError(_("This delivery date is too far ahead to be skipped."))
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
            skip = SubscriptionSkip.objects.create(
                subscription=subscription, delivery_date=delivery_date
            )
    except IntegrityError:
        # Not reachable under the row lock; kept for writers that do not take it.
        return SubscriptionSkip.objects.get(subscription=subscription, delivery_date=delivery_date)
    _changed_email(
        subscription=subscription,
        change="skip",
        delivery_date=delivery_date,
        once_as=delivery_date.isoformat(),
        context={"applies_from": _next_due(subscription=subscription, now=now)},
    )
    return skip


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
    _changed_email(
        subscription=subscription,
        change="pause",
        context={
            "paused_until": until,
            "fixed_delivery": subscription_fixed_delivery(subscription=subscription, now=now),
            "applies_from": _next_due(subscription=subscription, now=now),
        },
    )
    return subscription


@transaction.atomic
def subscription_resume(*, subscription_id: int, now: datetime | None = None) -> BasketSubscription:
    """End a pause now. Resuming an active subscription changes nothing (and sends nothing)."""
    now = now or timezone.now()
    subscription = _locked(subscription_id)
    _refuse_cancelled(subscription)
    if subscription.status == SubscriptionStatus.PAUSED:
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.paused_until = None
        subscription.paused_at = None
        subscription.save(update_fields=["status", "paused_until", "paused_at", "updated_at"])
        _changed_email(
            subscription=subscription,
            change="resume",
            context={"applies_from": _next_due(subscription=subscription, now=now)},
        )
    return subscription


@transaction.atomic
def subscription_cancel(
    *, subscription_id: int, reason: str = "", now: datetime | None = None
) -> BasketSubscription:
    """Cancel for good. Idempotent: cancelling twice keeps the first date and reason. A
    delivery whose cutoff has passed is already fixed and still comes (and is charged), even
    when its renewal has not run yet."""
    now = now or timezone.now()
    subscription = _locked(subscription_id)
    if subscription.status == SubscriptionStatus.CANCELLED:
        return subscription
    # Asked before the change: the delivery fixed now still comes.
    fixed = subscription_fixed_delivery(subscription=subscription, now=now)
    subscription.status = SubscriptionStatus.CANCELLED
    subscription.paused_until = None
    subscription.paused_at = None
    subscription.cancelled_at = now
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
    _changed_email(
        subscription=subscription,
        change="cancel",
        once_as="once",
        context={"fixed_delivery": fixed},
    )
    return subscription


def _next_due(*, subscription: BasketSubscription, now: datetime) -> date | None:
    due = subscription_due_dates(subscription=subscription, count=1, now=now)
    return due[0] if due else None


# --- Changing basket, household size or address -----------------------------------------------


@dataclass(frozen=True)
class SubscriptionChange:
    """What a change did, for the page's message."""

    subscription: BasketSubscription
    # The first delivery the change applies to (None: none planned within the horizon).
    applies_from: date | None
    # A coming delivery fixed by its cutoff before the change, which keeps what it had.
    fixed_delivery: date | None
    # False when the subscription already was as asked (a double click, a second tab).
    changed: bool = True


def _refuse_while_ordering(*, subscription: BasketSubscription, now: datetime) -> date | None:
    """Refuse while a fixed delivery's order is being placed; return the fixed delivery.

    The renewal places that order, after the cutoff, with the subscription's basket, address
    and district as they are then (the row has no "as of" date for them): changed now, they
    would change an order that is fixed. It is placed within minutes of the cutoff (the
    dispatcher runs every minute), under the row lock we hold, so once its renewal row
    exists the change is safe and applies from the following delivery.
    """
    fixed = subscription_fixed_delivery(subscription=subscription, now=now)
    if (
        fixed is not None
        and fixed > local_today(now=now)  # no order is placed on the delivery day itself
        and subscription.district.is_active
        and not SubscriptionRenewal.objects.filter(
            subscription=subscription, delivery_date=fixed
        ).exists()
    ):
        raise SubscriptionChangeError(
            _(
                "Your order for %(date)s is being prepared right now: please try again in a few "
                "minutes. Your change will apply from the following delivery."
            )
            % {"date": _date_label(fixed)}
        )
    return fixed


def _variant_on_sale(*, variant_id: int, subscription: BasketSubscription):
    """The variant and its Oscar price, if a shopper can buy it now: public, valid under the
    rules, priced, of a public basket — and buyable by Oscar's strategy, as the renewal
    checks."""
    variant = (
        sellable_variants()
        .select_related("product__parent", "product__product_class", "themed_basket")
        .filter(pk=variant_id)
        .first()
    )
    if variant is not None and variant.is_valid:
        purchase = Selector().strategy(user=subscription.user).fetch_for_product(variant.product)
        if purchase.availability.is_available_to_buy and purchase.price.exists:
            return variant, purchase.price
    raise SubscriptionChangeError(
        _("This basket is not on sale at the moment: please choose another one.")
    )


@transaction.atomic
def subscription_variant_change(
    *,
    subscription_id: int,
    variant_id: int,
    quantity: int | None = None,
    now: datetime | None = None,
) -> SubscriptionChange:
    """Switch to another basket or household size on sale (and, given, another number of
    baskets). A delivery whose cutoff has passed keeps its basket: the change applies from the
    following one. Refuses a cancelled subscription, a variant not on sale, a quantity out of
    range, and any change while a fixed delivery's order is being placed."""
    now = now or timezone.now()
    subscription = _locked(subscription_id)
    _refuse_cancelled(subscription)
    quantity = subscription.quantity if quantity is None else quantity
    if not 1 <= quantity <= QUANTITY_MAX:
        raise SubscriptionChangeError(
            _("Please choose between 1 and %(max)d baskets per delivery.") % {"max": QUANTITY_MAX}
        )
    variant, price = _variant_on_sale(variant_id=variant_id, subscription=subscription)
    if variant.pk == subscription.variant_id and quantity == subscription.quantity:
        fixed = subscription_fixed_delivery(subscription=subscription, now=now)
        return SubscriptionChange(
            subscription=subscription,
            applies_from=_next_due(subscription=subscription, now=now),
            fixed_delivery=fixed,
            changed=False,
        )
    fixed = _refuse_while_ordering(subscription=subscription, now=now)
    previous = subscription.variant
    subscription.variant = variant
    subscription.quantity = quantity
    subscription.save(update_fields=["variant", "quantity", "updated_at"])
    applies_from = _next_due(subscription=subscription, now=now)
    _changed_email(
        subscription=subscription,
        change="basket",
        delivery_date=applies_from,
        context={
            "previous_title": previous.product.get_title(),
            "basket_title": variant.product.get_title(),
            "persons": variant.persons,
            "quantity": quantity,
            "amount": (price.incl_tax * quantity).quantize(Decimal("0.01")),
            "currency": price.currency,
            "applies_from": applies_from,
            "fixed_delivery": fixed,
        },
    )
    return SubscriptionChange(
        subscription=subscription, applies_from=applies_from, fixed_delivery=fixed
    )


@dataclass(frozen=True)
class SubscriptionAddress:
    """A delivery address as the shopper typed it (France only: we deliver nowhere else)."""

    line1: str
    line4: str  # the commune: it tells apart communes that share a postcode
    postcode: str
    first_name: str = ""
    last_name: str = ""
    line2: str = ""
    phone_number: str = ""
    notes: str = ""

    @classmethod
    def of(cls, subscription: BasketSubscription) -> SubscriptionAddress:
        return cls(**{name: getattr(subscription, name) for name in ADDRESS_FIELDS})


ADDRESS_FIELDS = tuple(field.name for field in fields(SubscriptionAddress))


@dataclass(frozen=True)
class AddressPreview:
    """What a new address would mean, shown to the shopper before anything changes."""

    address: SubscriptionAddress  # its postcode normalised
    district: District
    district_changes: bool
    # The first delivery at the new address (None: none planned within the horizon, a pause).
    first_delivery: date | None
    # When the district changes: the first date of the new district renewals may cover.
    starts_on: date
    # A coming delivery fixed by its cutoff: it keeps the old address.
    fixed_delivery: date | None

    @property
    def weekday_label(self) -> str:
        return str(Weekday(self.district.weekday).label)


class SubscriptionAddressNotServed(SubscriptionChangeError):
    """We do not deliver this address (yet): the page offers the waitlist."""

    def __init__(self, message: str, *, postcode: str, commune: str):
        super().__init__(message)
        self.postcode = postcode
        self.commune = commune


class SubscriptionAddressMoved(SubscriptionChangeError):
    """The address now resolves to another district or first date than the shopper confirmed;
    ``preview`` is what it means now, to confirm again."""

    def __init__(self, message: str, *, preview: AddressPreview):
        super().__init__(message)
        self.preview = preview


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _last_kept_delivery(*, subscription: BasketSubscription, now: datetime) -> date | None:
    """The latest delivery the subscription keeps at its current address: the fixed one, a
    placed renewal, or the checkout's own order."""
    days = [
        subscription_fixed_delivery(subscription=subscription, now=now),
        subscription.renewals.exclude(status__in=_NOT_DELIVERED).aggregate(
            last=Max("delivery_date")
        )["last"],
    ]
    if subscription.first_order_id is not None:
        days.append(
            OrderDelivery.objects.filter(order_id=subscription.first_order_id)
            .values_list("delivery_date", flat=True)
            .first()
        )
    days = [day for day in days if day is not None]
    return max(days) if days else None


def _address_preview(
    *, subscription: BasketSubscription, address: SubscriptionAddress, now: datetime
) -> AddressPreview:
    lookup = postcode_lookup(postcode=address.postcode, commune=address.line4)
    if lookup.status == Eligibility.MALFORMED:
        raise SubscriptionChangeError(
            _("Enter a French postcode of five digits, for example 75013.")
        )
    if lookup.status == Eligibility.AMBIGUOUS:
        raise SubscriptionChangeError(
            _(
                "Several communes share the postcode %(postcode)s (%(communes)s): please write "
                "yours in the city field."
            )
            % {
                "postcode": lookup.postcode,
                "communes": ", ".join(d.short_name for d in lookup.candidates),
            }
        )
    if not lookup.is_served:
        if lookup.district is not None:
            message = _("We do not deliver %(district)s (%(postcode)s) yet.") % {
                "district": lookup.district.short_name,
                "postcode": lookup.postcode,
            }
        elif lookup.status == Eligibility.NOT_SERVED:
            message = _("We do not deliver %(postcode)s yet.") % {"postcode": lookup.postcode}
        else:
            message = _(
                "The postcode %(postcode)s is outside our delivery area (Paris and its inner "
                "suburbs) for now."
            ) % {"postcode": lookup.postcode}
        raise SubscriptionAddressNotServed(message, postcode=lookup.postcode, commune=address.line4)
    district = lookup.district
    address = SubscriptionAddress(**{**asdict(address), "postcode": lookup.postcode})
    fixed = subscription_fixed_delivery(subscription=subscription, now=now)
    if district.pk == subscription.district_id:
        return AddressPreview(
            address=address,
            district=district,
            district_changes=False,
            first_delivery=_next_due(subscription=subscription, now=now),
            starts_on=subscription.starts_on,
            fixed_delivery=fixed,
        )
    # One delivery a week: the new district's first date falls in a later calendar week than
    # the last delivery kept at the old address (moving from a Tuesday district to a Thursday
    # one after Tuesday's cutoff gives Thursday of the week after, not two baskets in 3 days).
    floor = _monday(subscription.starts_on)
    last = _last_kept_delivery(subscription=subscription, now=now)
    if last is not None:
        floor = max(floor, _monday(last) + timedelta(days=7))
    # Only dates still before their cutoff: renewals must not place an order for a date of the
    # new district whose cutoff had passed when the shopper moved (starts_on guards that).
    days = delivery_dates_upcoming(district=district, now=now, not_before=floor)
    if not days:
        raise SubscriptionChangeError(
            _("We deliver %(district)s, but no delivery date is open yet.")
            % {"district": district.short_name}
        )
    skipped = set(subscription.skips.values_list("delivery_date", flat=True))
    first = next(
        (day for day in days if day not in skipped and not subscription.is_paused_on(day)), None
    )
    return AddressPreview(
        address=address,
        district=district,
        district_changes=True,
        first_delivery=first,
        starts_on=days[0],
        fixed_delivery=fixed,
    )


def subscription_address_preview(
    *, subscription_id: int, address: SubscriptionAddress, now: datetime | None = None
) -> AddressPreview:
    """The district of a new address, its weekday and the first delivery it would get (after
    any delivery already fixed, which stays at the old address). Writes nothing. Raises
    SubscriptionAddressNotServed for an address we do not deliver, SubscriptionChangeError for
    an ambiguous postcode, a cancelled subscription or while a fixed order is being placed."""
    now = now or timezone.now()
    subscription = BasketSubscription.objects.select_related("district").get(pk=subscription_id)
    _refuse_cancelled(subscription)
    _refuse_while_ordering(subscription=subscription, now=now)
    return _address_preview(subscription=subscription, address=address, now=now)


@transaction.atomic
def subscription_address_change(
    *,
    subscription_id: int,
    address: SubscriptionAddress,
    expected_district_id: int,
    expected_first_delivery: date | None = None,
    now: datetime | None = None,
) -> SubscriptionChange:
    """Deliver to a new address from the first delivery its preview showed.

    ``expected_district_id`` (and ``expected_first_delivery``, when given) are what the shopper
    confirmed: if the address resolves otherwise now (ops moved a postcode or a weekday, a
    cutoff passed meanwhile), nothing changes and SubscriptionAddressMoved carries the new
    preview to confirm. A new district moves ``starts_on`` to its first date in the preview:
    renewals then follow the new district's days, and a delivery already fixed keeps its order
    at the old address. Upcoming skips of days the new district does not deliver are dropped.
    """
    now = now or timezone.now()
    subscription = _locked(subscription_id)
    _refuse_cancelled(subscription)
    fixed = _refuse_while_ordering(subscription=subscription, now=now)
    preview = _address_preview(subscription=subscription, address=address, now=now)
    if preview.district.pk != expected_district_id or (
        expected_first_delivery is not None and preview.first_delivery != expected_first_delivery
    ):
        raise SubscriptionAddressMoved(
            _(
                "Deliveries to this address have just changed: %(district)s, every %(weekday)s. "
                "Please check and confirm again."
            )
            % {"district": preview.district.short_name, "weekday": preview.weekday_label.lower()},
            preview=preview,
        )
    if preview.address == SubscriptionAddress.of(subscription) and not preview.district_changes:
        return SubscriptionChange(
            subscription=subscription,
            applies_from=preview.first_delivery,
            fixed_delivery=fixed,
            changed=False,
        )
    for name in ADDRESS_FIELDS:
        setattr(subscription, name, getattr(preview.address, name))
    subscription.country_id = "FR"
    update = [*ADDRESS_FIELDS, "country", "updated_at"]
    if preview.district_changes:
        subscription.district = preview.district
        subscription.starts_on = preview.starts_on
        update += ["district", "starts_on"]
        subscription.skips.filter(delivery_date__gte=local_today(now=now)).exclude(
            delivery_date__iso_week_day=preview.district.weekday + 1
        ).delete()
    subscription.save(update_fields=update)
    _changed_email(
        subscription=subscription,
        change="address",
        delivery_date=preview.first_delivery,
        context={
            "address": preview.address,
            "district_name": preview.district.short_name,
            "weekday": preview.weekday_label.lower(),
            "district_changes": preview.district_changes,
            "applies_from": preview.first_delivery,
            "fixed_delivery": fixed,
        },
    )
    return SubscriptionChange(
        subscription=subscription, applies_from=preview.first_delivery, fixed_delivery=fixed
    )
