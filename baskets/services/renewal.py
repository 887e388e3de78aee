"""The weekly cycle: at each district's cutoff, one order per subscription, charged off-session.

``subscription_renew`` runs in two steps, each safe to repeat and to race:

1. **Order** (one transaction, under the subscription's row lock): the renewal row is created
   (UNIQUE (subscription, delivery_date): the database decides between racers), then an
   ordinary Oscar order is placed for that date with the basket variant's *current* price and
   composition, and its delivery is booked on exactly that date.
2. **Charge** (outside any transaction, as the checkout does): an off-session manual-capture
   PaymentIntent through the payments ledger (idempotency key ``order-<number>-authorise``),
   then its capture (``order-<number>-capture``). A racer or a re-run gets the ledger's
   recorded result: Stripe is charged once.

Outcomes on the renewal row: ``paid``; ``requires_action`` (3-D Secure: the order and its
delivery are kept while the shopper is emailed a link to authenticate); ``declined`` (the order
and its delivery are kept, the charge is retried on the saved card on a schedule and the shopper
is emailed a link to give another card); ``failed`` (the order could not be placed: basket not
on sale, delivery full). A network error towards Stripe leaves the renewal ``ordered``: a
re-run (the outbox sweeper, the recovery task) charges it.

Recovery (``baskets.services.recovery``): a renewal still unpaid at its payment deadline (the
day before delivery, ``SUBSCRIPTION_PAYMENT_DEADLINE_TIME``) is ``cancelled``: the order is
cancelled, its delivery places released, the shopper told, the subscription stays active.
Nothing unpaid is delivered; a charge racing the deadline is serialised on the renewal row.

Dispatch: ``renewals_dispatch`` writes an outbox row per due (subscription, date) in chunks and
enqueues each after its chunk commits; ``renewals_outbox_sweep`` enqueues again rows that are
still not done after a while (a process died between commit and enqueue, a lost task).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.apps.basket.models import Basket as Cart
from oscar.apps.checkout.calculators import OrderTotalCalculator
from oscar.apps.order.models import Order, ShippingAddress
from oscar.apps.order.utils import OrderCreator
from oscar.apps.payment.models import Source

from baskets.models import (
    BasketSubscription,
    RenewalOutbox,
    RenewalStatus,
    SubscriptionRenewal,
    SubscriptionSkip,
    SubscriptionStatus,
)
from delivery.calendar import (
    PARIS,
    closed_dates,
    delivery_cutoff,
    is_delivery_day,
    is_public_holiday,
    local_today,
)
from delivery.models import ClosedDate, OrderDelivery
from delivery.selectors import NextDelivery
from delivery.services.booking import DeliveryFullError, delivery_date_book
from delivery.shipping import FixedDayDelivery
from essentiels.oscar_forks.partner.strategy import Selector
from payments.exceptions import PaymentError, PaymentUnavailable
from payments.services import (
    payment_intent_authorise,
    payment_intent_cancel,
    payment_intent_capture,
)
from payments.services.oscar_records import order_payment_event_record, stripe_source_type

logger = logging.getLogger("baskets.renewal")

ORDER_CANCELLED_STATUS = "Annulée"
# Outcomes after which nothing is left to do for this (subscription, date) in the cycle.
# Declined and 3-D Secure renewals are settled for the outbox: the recovery task takes over.
SETTLED = frozenset(
    {
        RenewalStatus.PAID,
        RenewalStatus.DECLINED,
        RenewalStatus.FAILED,
        RenewalStatus.REQUIRES_ACTION,
        RenewalStatus.CANCELLED,
    }
)

Enqueue = Callable[[int, date], None]


class RenewalError(Exception):
    """The order for this renewal cannot be placed; ``message`` is for the shopper and staff."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def renewal_order_number(*, subscription_id: int, delivery_date: date) -> str:
    """Deterministic, so Order.number (UNIQUE) is a second guard against a double order."""
    return f"A{subscription_id}-{delivery_date:%Y%m%d}"


def _not_delivered_reason(
    *, subscription: BasketSubscription, delivery_date: date, now: datetime
) -> str | None:
    """Why this subscription gets no order for that date, or None when it does."""
    cutoff = delivery_cutoff(day=delivery_date)
    # Changes made after the cutoff apply from the following delivery: they do not stop an
    # order that was fixed at the cutoff, even if the renewal task runs after the change.
    if subscription.is_cancelled_for(cutoff=cutoff):
        return "cancelled"
    if subscription.is_paused_on(delivery_date, cutoff=cutoff):
        return "paused"
    if delivery_date < subscription.starts_on:
        return "before its first renewal"
    if delivery_date <= local_today(now=now):
        return "delivery date passed"
    if now < cutoff:
        # Until the cutoff the shopper may still skip or change this delivery.
        return "before its cutoff"
    if SubscriptionSkip.objects.filter(
        subscription=subscription, delivery_date=delivery_date
    ).exists():
        return "skipped"
    district = subscription.district
    closed = closed_dates(district_id=district.pk, start=delivery_date, end=delivery_date)
    if not is_delivery_day(district=district, day=delivery_date, closed=closed):
        return "not a delivery date of its district"
    return None


class _RenewalOrderCreator(OrderCreator):
    """Oscar's OrderCreator that books the renewal's own delivery date.

    The delivery app books on ``order_placed`` the date carried by the shipping code *if its
    cutoff has not passed*, else the next one; a renewal runs after the cutoff, so it books
    its date here, before the signal, and the receiver finds the booking made (it is
    idempotent per order).
    """

    def __init__(self, *, district_id: int, delivery_date: date, baskets: int):
        self.district_id = district_id
        self.delivery_date = delivery_date
        self.baskets = baskets

    def create_order_model(self, *args, **kwargs):
        order = super().create_order_model(*args, **kwargs)
        if not delivery_date_book(
            district_id=self.district_id, day=self.delivery_date, quantity=self.baskets
        ):
            raise RenewalError(
                _("The delivery of %(date)s is full.") % {"date": self.delivery_date.isoformat()}
            )
        OrderDelivery.objects.create(
            order=order,
            district_id=self.district_id,
            delivery_date=self.delivery_date,
            requested_date=self.delivery_date,
            baskets=self.baskets,
        )
        return order


def _renewal_order_place(*, subscription: BasketSubscription, delivery_date: date) -> Order:
    """An ordinary Oscar order of the subscribed variant at its current price and composition,
    shipped to the subscription's address on ``delivery_date``. Runs in the caller's
    transaction; raises RenewalError when the basket is not on sale or the date is full."""
    variant = subscription.variant
    product = variant.product
    user = subscription.user
    strategy = Selector().strategy(user=user)
    purchase = strategy.fetch_for_product(product)
    if not variant.is_valid or not purchase.availability.is_available_to_buy:
        raise RenewalError(_("This basket is not on sale at the moment."))
    cart = Cart.objects.create(owner=user)
    cart.strategy = strategy
    cart.add_product(product, quantity=subscription.quantity)
    district = subscription.district
    method = FixedDayDelivery(
        next_delivery=NextDelivery(district=district, first_date=delivery_date, date=delivery_date)
    )
    shipping_charge = method.calculate(cart)
    total = OrderTotalCalculator().calculate(cart, shipping_charge)
    address = ShippingAddress.objects.create(
        first_name=subscription.first_name,
        last_name=subscription.last_name,
        line1=subscription.line1,
        line2=subscription.line2,
        line4=subscription.line4,
        postcode=subscription.postcode,
        country_id=subscription.country_id,
        phone_number=subscription.phone_number or "",
        notes=subscription.notes,
    )
    order = _RenewalOrderCreator(
        district_id=district.pk, delivery_date=delivery_date, baskets=subscription.quantity
    ).place_order(
        basket=cart,
        total=total,
        shipping_method=method,
        shipping_charge=shipping_charge,
        user=user,
        shipping_address=address,
        order_number=renewal_order_number(
            subscription_id=subscription.pk, delivery_date=delivery_date
        ),
    )
    cart.submit()
    return order


def _renewal_order_ensure(
    *, subscription_id: int, delivery_date: date, now: datetime
) -> SubscriptionRenewal | None:
    """Step 1: the renewal row and its order, committed together (or a failed renewal)."""
    with transaction.atomic():
        # Lock the row alone, then read it with its relations: a lock query joining the
        # district would find no row at all if a racing change moved it to another district
        # (PostgreSQL re-checks the join against the updated row, with the old district).
        BasketSubscription.objects.select_for_update().filter(pk=subscription_id).values("pk").get()
        subscription = BasketSubscription.objects.select_related(
            "district", "variant__product", "user"
        ).get(pk=subscription_id)
        renewal = SubscriptionRenewal.objects.filter(
            subscription=subscription, delivery_date=delivery_date
        ).first()
        if renewal is not None:
            return renewal
        reason = _not_delivered_reason(
            subscription=subscription, delivery_date=delivery_date, now=now
        )
        if reason is not None:
            logger.info(
                "subscription %s, %s: no order (%s)", subscription_id, delivery_date, reason
            )
            return None
        try:
            with transaction.atomic():
                renewal = SubscriptionRenewal.objects.create(
                    subscription=subscription, delivery_date=delivery_date
                )
        except IntegrityError:
            # Another writer (one that did not take the subscription lock) got there first.
            return SubscriptionRenewal.objects.get(
                subscription=subscription, delivery_date=delivery_date
            )
        try:
            with transaction.atomic():
                order = _renewal_order_place(subscription=subscription, delivery_date=delivery_date)
        except (RenewalError, DeliveryFullError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            logger.warning(
                "subscription %s, %s: order not placed: %s", subscription_id, delivery_date, message
            )
            renewal.status = RenewalStatus.FAILED
            renewal.error = message
            renewal.save(update_fields=["status", "error", "updated_at"])
            return renewal
        renewal.order = order
        renewal.status = RenewalStatus.ORDERED
        renewal.save(update_fields=["order", "status", "updated_at"])
        return renewal


def renewal_payment_deadline(*, delivery_date: date) -> datetime:
    """The last moment a renewal can be paid: ``SUBSCRIPTION_PAYMENT_DEADLINE_TIME`` (Paris) the
    day before its delivery. Unpaid then, the delivery is cancelled."""
    hour, minute = (int(part) for part in settings.SUBSCRIPTION_PAYMENT_DEADLINE_TIME.split(":"))
    day = delivery_date - timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def renewal_next_retry_at(*, attempt: int, delivery_date: date, now: datetime) -> datetime | None:
    """When a declined charge is tried again on the saved card: ``SUBSCRIPTION_RETRY_HOURS[n]``
    hours after the n-th decline, if that is before the payment deadline; else None."""
    delays = settings.SUBSCRIPTION_RETRY_HOURS
    if attempt > len(delays):
        return None
    at = now + timedelta(hours=delays[attempt - 1])
    return at if at < renewal_payment_deadline(delivery_date=delivery_date) else None


def _renewal_record(
    *,
    renewal_id: int,
    status: str,
    attempt: int,
    payment_intent_id: str = "",
    error: str = "",
    now: datetime | None = None,
) -> SubscriptionRenewal:
    """Write the charge's outcome, once, and tell the shopper: a racer that recorded it first
    wins, the other reads."""
    from baskets.services.recovery import renewal_outcome_notify

    now = now or timezone.now()
    with transaction.atomic():
        renewal = (
            SubscriptionRenewal.objects.select_for_update(of=("self",))
            .select_related("order", "subscription__user", "subscription__variant__product")
            .get(pk=renewal_id)
        )
        if renewal.status != RenewalStatus.ORDERED:
            return renewal
        renewal.status = status
        renewal.attempts = attempt
        renewal.payment_intent_id = payment_intent_id or renewal.payment_intent_id
        renewal.error = error
        renewal.next_retry_at = (
            renewal_next_retry_at(attempt=attempt, delivery_date=renewal.delivery_date, now=now)
            if status == RenewalStatus.DECLINED
            else None
        )
        renewal.save()
        renewal_outcome_notify(renewal=renewal)
        return renewal


def _payment_source_ensure(*, order: Order, amount: Decimal, payment_intent_id: str) -> None:
    """The order's Stripe payment Source (as the checkout adds it), once."""
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).first()
        Source.objects.get_or_create(
            order=order,
            source_type=stripe_source_type(),
            reference=payment_intent_id,
            defaults={"currency": order.currency, "amount_allocated": amount},
        )
    order_payment_event_record(
        order=order, kind="authorise", amount=amount, reference=payment_intent_id
    )


def _renewal_charge(
    *, renewal: SubscriptionRenewal, off_session: bool = True, now: datetime | None = None
) -> SubscriptionRenewal:
    """Step 2: authorise (off-session, or on-session when the shopper pays from the payment
    page) and capture, through the ledger; record the outcome."""
    order = renewal.order
    subscription = renewal.subscription
    attempt = max(1, renewal.attempts)
    amount = order.total_incl_tax
    try:
        result = payment_intent_authorise(
            order_number=order.number,
            amount=amount,
            currency=order.currency,
            customer_id=subscription.stripe_customer_id,
            payment_method_id=subscription.stripe_payment_method_id,
            off_session=off_session,
            attempt=attempt,
        )
    except PaymentUnavailable as exc:
        # Outcome unknown: stays ``ordered``; a re-run asks again with the same key.
        SubscriptionRenewal.objects.filter(pk=renewal.pk).update(
            error=exc.message, updated_at=timezone.now()
        )
        renewal.error = exc.message
        return renewal
    except PaymentError as exc:
        return _renewal_record(
            now=now,
            renewal_id=renewal.pk,
            status=RenewalStatus.DECLINED,
            attempt=attempt,
            error=exc.message,
        )
    if result.status == "declined":
        return _renewal_record(
            now=now,
            renewal_id=renewal.pk,
            status=RenewalStatus.DECLINED,
            attempt=attempt,
            payment_intent_id=result.payment_intent_id,
            error=result.message,
        )
    if result.status == "requires_action":
        return _renewal_record(
            now=now,
            renewal_id=renewal.pk,
            status=RenewalStatus.REQUIRES_ACTION,
            attempt=attempt,
            payment_intent_id=result.payment_intent_id,
        )
    # Capture under the renewal's row lock, and only if it is still ours to charge: the payment
    # deadline (renewal_expire) takes the same lock, so it either cancels the delivery before
    # this point (and the authorisation is released here) or waits for the capture's outcome.
    # (The capture's ledger row then commits with this transaction: a crash before the commit
    # leaves the renewal ``ordered``, and the re-run replays the capture under the same key.)
    with transaction.atomic():
        current = (
            SubscriptionRenewal.objects.select_for_update()
            .filter(pk=renewal.pk)
            .values_list("status", flat=True)
            .get()
        )
        if current != RenewalStatus.ORDERED:
            logger.warning(
                "renewal %s became %s before capture: releasing the authorisation",
                renewal.pk,
                current,
            )
            _intent_release_quietly(order=order, payment_intent_id=result.payment_intent_id)
            return SubscriptionRenewal.objects.get(pk=renewal.pk)
        _payment_source_ensure(
            order=order, amount=amount, payment_intent_id=result.payment_intent_id
        )
        try:
            payment_intent_capture(
                order_number=order.number, payment_intent_id=result.payment_intent_id
            )
        except PaymentUnavailable as exc:
            SubscriptionRenewal.objects.filter(pk=renewal.pk).update(
                error=exc.message,
                payment_intent_id=result.payment_intent_id,
                updated_at=timezone.now(),
            )
            renewal.error = exc.message
            return renewal
        except PaymentError as exc:
            _intent_release_quietly(order=order, payment_intent_id=result.payment_intent_id)
            return _renewal_record(
                now=now,
                renewal_id=renewal.pk,
                status=RenewalStatus.DECLINED,
                attempt=attempt,
                payment_intent_id=result.payment_intent_id,
                error=exc.message,
            )
        return _renewal_record(
            now=now,
            renewal_id=renewal.pk,
            status=RenewalStatus.PAID,
            attempt=attempt,
            payment_intent_id=result.payment_intent_id,
        )


def _intent_release_quietly(*, order: Order, payment_intent_id: str) -> None:
    try:
        payment_intent_cancel(order_number=order.number, payment_intent_id=payment_intent_id)
    except PaymentError:
        # Reconciliation finds authorisations left on cancelled orders.
        logger.exception("order %s: could not cancel the authorisation", order.number)


def subscription_renew(
    *, subscription_id: int, delivery_date: date, now: datetime | None = None
) -> SubscriptionRenewal | None:
    """Place and charge the subscription's order for ``delivery_date``; return its renewal.

    Idempotent and safe to race: exactly one renewal, one order and at most one charge per
    (subscription, delivery date). Returns None, creating nothing, when the subscription is
    not delivered that date (cancelled, paused, skipped, before its start, past, not a
    delivery date of its district) or when that date's cutoff has not passed yet. Must be
    called outside a transaction: the order is committed before Stripe is called.
    """
    now = now or timezone.now()
    renewal = _renewal_order_ensure(
        subscription_id=subscription_id, delivery_date=delivery_date, now=now
    )
    if renewal is None or renewal.status != RenewalStatus.ORDERED:
        return renewal
    renewal = SubscriptionRenewal.objects.select_related("order", "subscription").get(pk=renewal.pk)
    return _renewal_charge(renewal=renewal, now=now)


# --- dispatch ----------------------------------------------------------------------------------


def subscriptions_due(*, delivery_date: date, now: datetime | None = None) -> QuerySet:
    """Ids (ascending) of subscriptions to renew for ``delivery_date``: its cutoff has passed,
    their (open) district delivers that day, and they are neither cancelled, paused, skipped
    nor renewed already for it. Empty before the cutoff."""
    now = now or timezone.now()
    none = BasketSubscription.objects.none().values_list("pk", flat=True)
    cutoff = delivery_cutoff(day=delivery_date)
    if now < cutoff:
        return none
    if ClosedDate.objects.filter(date=delivery_date, district__isnull=True).exists():
        return none
    if is_public_holiday(delivery_date):
        return none
    return (
        BasketSubscription.objects.filter(
            Q(district__opens_on__isnull=True) | Q(district__opens_on__lte=delivery_date),
            district__is_active=True,
            district__weekday=delivery_date.weekday(),
            starts_on__lte=delivery_date,
        )
        # The same rules as BasketSubscription.is_cancelled_for / is_paused_on.
        .exclude(
            Q(cancelled_at__isnull=True) | Q(cancelled_at__lt=cutoff),
            status=SubscriptionStatus.CANCELLED,
        )
        .exclude(
            Q(paused_at__isnull=True) | Q(paused_at__lt=cutoff),
            status=SubscriptionStatus.PAUSED,
            paused_until__gt=delivery_date,
        )
        .exclude(district__closed_dates__date=delivery_date)
        .exclude(skips__delivery_date=delivery_date)
        .exclude(renewals__delivery_date=delivery_date)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def renewal_dates_due(*, now: datetime | None = None) -> list[date]:
    """Delivery dates whose cutoff has passed and which are still to come (tomorrow on: an
    order placed on its delivery day could not be prepared)."""
    now = now or timezone.now()
    today = local_today(now=now)
    # Every date whose cutoff can have passed: DELIVERY_CUTOFF_HOURS_BEFORE, plus a day.
    days_ahead = settings.DELIVERY_CUTOFF_HOURS_BEFORE // 24 + 2
    days = (today + timedelta(days=n) for n in range(1, days_ahead + 1))
    return [day for day in days if delivery_cutoff(day=day) <= now]


def _enqueue_all(enqueue: Enqueue, pairs: Iterable[tuple[int, date]]) -> None:
    for subscription_id, day in pairs:
        enqueue(subscription_id, day)


def renewals_dispatch(
    *, enqueue: Enqueue, now: datetime | None = None, chunk_size: int = 1000
) -> int:
    """Write an outbox row for every due (subscription, date) not in the outbox yet, one
    transaction per chunk of ``chunk_size``, and enqueue the chunk once it is committed.
    Returns the number of rows written. Two dispatchers racing (a duplicate beat) insert
    each row once (ON CONFLICT DO NOTHING); at worst a task is enqueued twice, a no-op."""
    now = now or timezone.now()
    written = 0
    for day in renewal_dates_due(now=now):
        due = subscriptions_due(delivery_date=day, now=now).exclude(
            outbox_entries__delivery_date=day
        )
        last_id = 0
        while True:
            ids = list(due.filter(pk__gt=last_id)[:chunk_size])
            if not ids:
                break
            last_id = ids[-1]
            with transaction.atomic():
                RenewalOutbox.objects.bulk_create(
                    [
                        RenewalOutbox(subscription_id=pk, delivery_date=day, enqueued_at=now)
                        for pk in ids
                    ],
                    ignore_conflicts=True,
                )
                pairs = [(pk, day) for pk in ids]
                transaction.on_commit(lambda pairs=pairs: _enqueue_all(enqueue, pairs))
            written += len(ids)
    return written


def renewals_outbox_sweep(
    *,
    enqueue: Enqueue,
    now: datetime | None = None,
    older_than: timedelta = timedelta(minutes=15),
    limit: int = 5000,
) -> int:
    """Enqueue again outbox rows not done ``older_than`` after they were last enqueued.
    Racing sweepers skip each other's rows (SKIP LOCKED). Returns how many were enqueued."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            RenewalOutbox.objects.select_for_update(skip_locked=True)
            .filter(done_at__isnull=True, enqueued_at__lt=now - older_than)
            .order_by("pk")[:limit]
        )
        if not rows:
            return 0
        RenewalOutbox.objects.filter(pk__in=[row.pk for row in rows]).update(enqueued_at=now)
        pairs = [(row.subscription_id, row.delivery_date) for row in rows]
        transaction.on_commit(lambda: _enqueue_all(enqueue, pairs))
    return len(pairs)


def renewal_outbox_done(
    *, subscription_id: int, delivery_date: date, renewal: SubscriptionRenewal | None
) -> bool:
    """Mark the outbox row done when the renewal needs no further run (settled, or nothing to
    create). A renewal still ``ordered`` (Stripe unreachable) stays for the sweeper."""
    if renewal is not None and renewal.status not in SETTLED:
        return False
    RenewalOutbox.objects.filter(
        subscription_id=subscription_id, delivery_date=delivery_date, done_at__isnull=True
    ).update(done_at=timezone.now())
    return True
