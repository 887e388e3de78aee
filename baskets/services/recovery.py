"""When a weekly charge does not go through: tell the shopper, retry, let them pay, or cancel.

- ``requires_action`` (the bank wants 3-D Secure; real Stripe answers an off-session charge with
  a 402 ``authentication_required``, localstripe with a ``requires_action`` intent: both end
  here): the shopper is emailed a link to the payment page, where Stripe.js runs the
  authentication, then ``renewal_authentication_complete`` captures.
- ``declined``: the saved card is charged again on a schedule (``SUBSCRIPTION_RETRY_HOURS``,
  each retry a new ledger attempt) and the shopper is emailed a link to give another card
  (``renewal_pay_with_card``, on session).
- still unpaid at the payment deadline (the day before delivery): ``renewal_expire`` cancels the
  order and releases its delivery places; the subscription stays active; the shopper is told.

Every step moves the renewal from one status to the next under its row lock (a claim), so a
retry racing the shopper's new card, or the deadline racing a 3-D Secure return, runs one after
the other: never two charges for one delivery, never a charge for a cancelled delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from baskets.models import (
    BasketSubscription,
    MessageKind,
    RenewalStatus,
    SubscriptionRenewal,
)
from baskets.services.notifications import shop_url, subscription_message_send
from baskets.services.renewal import (
    ORDER_CANCELLED_STATUS,
    _renewal_charge,
    renewal_payment_deadline,
    subscription_renew,
)
from delivery.calendar import local_today
from delivery.models import OrderDelivery
from delivery.services.booking import order_delivery_release
from payments.exceptions import PaymentError
from payments.services import payment_intent_cancel
from payments.services.customers import payment_method_is_customers

logger = logging.getLogger("baskets.recovery")

# An ``ordered`` renewal untouched this long is not being charged by anyone (a charge takes
# seconds; Stripe calls time out after 25): the recovery task runs it again or expires it.
STALE_ORDERED = timedelta(minutes=15)
UNPAID = (RenewalStatus.ORDERED, RenewalStatus.DECLINED, RenewalStatus.REQUIRES_ACTION)

EnqueueRetry = Callable[[int], None]


class RenewalPaymentError(Exception):
    """The payment page cannot do what was asked; ``message`` says why, translated."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def renewal_payment_url(*, renewal: SubscriptionRenewal) -> str:
    return shop_url(reverse("baskets:renewal-payment", kwargs={"pk": renewal.pk}))


# --- emails ------------------------------------------------------------------------------------


def _email_context(renewal: SubscriptionRenewal) -> dict:
    order = renewal.order
    line = order.lines.select_related("cost").first() if order is not None else None
    cost = getattr(line, "cost", None) if line is not None else None
    return {
        "renewal": renewal,
        "order": order,
        "basket_title": line.title if line is not None else str(renewal.subscription.variant),
        "quantity": line.quantity if line is not None else renewal.subscription.quantity,
        "composition": cost.composition if cost is not None else [],
        "amount": order.total_incl_tax if order is not None else None,
        "deadline": renewal_payment_deadline(delivery_date=renewal.delivery_date),
        "next_retry_at": renewal.next_retry_at,
        "payment_url": renewal_payment_url(renewal=renewal),
        "error": renewal.error,
    }


def renewal_outcome_notify(*, renewal: SubscriptionRenewal) -> None:
    """The email for the renewal's new status, once per event (called in the transaction that
    wrote the status; sent after it commits)."""
    kinds = {
        RenewalStatus.PAID: (MessageKind.RENEWED, f"renewed-{renewal.pk}"),
        RenewalStatus.REQUIRES_ACTION: (
            MessageKind.PAYMENT_ACTION,
            f"action-{renewal.pk}-{renewal.attempts}",
        ),
        RenewalStatus.DECLINED: (
            MessageKind.PAYMENT_DECLINED,
            f"declined-{renewal.pk}-{renewal.attempts}",
        ),
        RenewalStatus.CANCELLED: (MessageKind.DELIVERY_CANCELLED, f"unpaid-{renewal.pk}"),
    }
    if renewal.status not in kinds:
        return
    kind, key = kinds[renewal.status]
    subscription_message_send(
        subscription=renewal.subscription,
        kind=kind,
        key=key,
        context=_email_context(renewal),
        delivery_date=renewal.delivery_date,
    )


# --- claims ------------------------------------------------------------------------------------


def _claim(
    *,
    renewal_id: int,
    from_statuses: tuple[str, ...],
    now: datetime,
    new_attempt: bool,
    payment_method_id: str = "",
    due_only: bool = False,
) -> tuple[SubscriptionRenewal, str]:
    """Move the renewal back to ``ordered`` for one more charge, under its row lock. Returns
    the renewal and the intent to release (a 3-D Secure intent left behind by a new attempt).
    Raises RenewalPaymentError when it is not in ``from_statuses`` or past its deadline."""
    with transaction.atomic():
        renewal = (
            SubscriptionRenewal.objects.select_for_update(of=("self",))
            .select_related("order", "subscription")
            .get(pk=renewal_id)
        )
        if renewal.status not in from_statuses:
            raise RenewalPaymentError(_status_message(renewal))
        if now >= renewal_payment_deadline(delivery_date=renewal.delivery_date):
            raise RenewalPaymentError(
                _("It is too late to pay for this delivery: it is being cancelled.")
            )
        if due_only and (renewal.next_retry_at is None or renewal.next_retry_at > now):
            raise RenewalPaymentError(_("No retry is due for this payment."))
        leftover = ""
        if new_attempt and renewal.status == RenewalStatus.REQUIRES_ACTION:
            leftover = renewal.payment_intent_id
        if payment_method_id:
            # The new card is the subscription's card from now on (Stripe saved it on the
            # shopper's Customer through the SetupIntent).
            BasketSubscription.objects.filter(pk=renewal.subscription_id).update(
                stripe_payment_method_id=payment_method_id, updated_at=now
            )
            renewal.subscription.stripe_payment_method_id = payment_method_id
        renewal.status = RenewalStatus.ORDERED
        if new_attempt:
            renewal.attempts = max(1, renewal.attempts) + 1
        renewal.next_retry_at = None
        renewal.save(update_fields=["status", "attempts", "next_retry_at", "updated_at"])
        return renewal, leftover


def _release_intent(*, renewal: SubscriptionRenewal, payment_intent_id: str) -> None:
    if not payment_intent_id:
        return
    try:
        payment_intent_cancel(
            order_number=renewal.order.number, payment_intent_id=payment_intent_id
        )
    except PaymentError:
        # Reconciliation finds authorisations left on cancelled orders.
        logger.exception("renewal %s: could not release intent %s", renewal.pk, payment_intent_id)


def _status_message(renewal: SubscriptionRenewal) -> str:
    if renewal.status == RenewalStatus.PAID:
        return _("This delivery is paid: thank you!")
    if renewal.status in (RenewalStatus.CANCELLED, RenewalStatus.FAILED):
        return _("This delivery was cancelled: nothing was charged.")
    if renewal.status == RenewalStatus.ORDERED:
        return _("This payment is being processed: please reload the page in a minute.")
    return _("This payment cannot be made now.")


# --- the shopper's actions ------------------------------------------------------------------------


def renewal_authentication_complete(
    *, renewal_id: int, now: datetime | None = None
) -> SubscriptionRenewal:
    """After Stripe.js ran 3-D Secure in the browser: read the intent again and, authorised,
    capture it. Still waiting for the bank: stays ``requires_action``."""
    now = now or timezone.now()
    renewal, _leftover = _claim(
        renewal_id=renewal_id,
        from_statuses=(RenewalStatus.REQUIRES_ACTION,),
        now=now,
        new_attempt=False,
    )
    # Same attempt, same ledger key: the ledger reads the intent's new state from Stripe.
    return _renewal_charge(renewal=renewal, off_session=False, now=now)


def renewal_pay_with_card(
    *, renewal_id: int, payment_method_id: str, now: datetime | None = None
) -> SubscriptionRenewal:
    """The shopper gives another card on the payment page (saved by a SetupIntent): it becomes
    the subscription's card and is charged now, on session (3-D Secure possible)."""
    now = now or timezone.now()
    if not payment_method_id.startswith("pm_"):
        raise RenewalPaymentError(_("Please enter your card details."))
    customer_id = (
        SubscriptionRenewal.objects.filter(pk=renewal_id)
        .values_list("subscription__stripe_customer_id", flat=True)
        .first()
    )
    if not payment_method_is_customers(
        payment_method_id=payment_method_id, customer_id=customer_id or ""
    ):
        raise RenewalPaymentError(_("This card could not be used: please enter it again."))
    renewal, leftover = _claim(
        renewal_id=renewal_id,
        from_statuses=(RenewalStatus.DECLINED, RenewalStatus.REQUIRES_ACTION),
        now=now,
        new_attempt=True,
        payment_method_id=payment_method_id,
    )
    _release_intent(renewal=renewal, payment_intent_id=leftover)
    return _renewal_charge(renewal=renewal, off_session=False, now=now)


# --- the recovery task -------------------------------------------------------------------------


def renewal_retry(*, renewal_id: int, now: datetime | None = None) -> SubscriptionRenewal | None:
    """A scheduled retry of a declined charge on the saved card (off session). None when it
    is no longer due (paid meanwhile, another card given, past the deadline)."""
    now = now or timezone.now()
    try:
        renewal, _leftover = _claim(
            renewal_id=renewal_id,
            from_statuses=(RenewalStatus.DECLINED,),
            now=now,
            new_attempt=True,
            due_only=True,
        )
    except RenewalPaymentError:
        return None
    return _renewal_charge(renewal=renewal, now=now)


def renewal_expire(*, renewal_id: int, now: datetime | None = None) -> SubscriptionRenewal:
    """Past its payment deadline and still unpaid: cancel the order, release its delivery
    places, tell the shopper. The subscription stays as it is (next week comes)."""
    now = now or timezone.now()
    with transaction.atomic():
        renewal = (
            SubscriptionRenewal.objects.select_for_update(of=("self",))
            .select_related("order", "subscription__user", "subscription__variant__product")
            .get(pk=renewal_id)
        )
        if renewal.status not in UNPAID or now < renewal_payment_deadline(
            delivery_date=renewal.delivery_date
        ):
            return renewal
        if renewal.status == RenewalStatus.ORDERED and renewal.updated_at > now - STALE_ORDERED:
            return renewal  # a charge is running: it records its outcome, the next run decides
        open_intent = renewal.payment_intent_id if renewal.status != RenewalStatus.DECLINED else ""
        renewal.status = RenewalStatus.CANCELLED
        renewal.next_retry_at = None
        renewal.error = _("Unpaid at the payment deadline: delivery cancelled.")
        renewal.save(update_fields=["status", "next_retry_at", "error", "updated_at"])
        order = renewal.order
        if order is not None:
            if order.status != ORDER_CANCELLED_STATUS:
                order.set_status(ORDER_CANCELLED_STATUS)
            booking = OrderDelivery.objects.filter(order=order).only("pk").first()
            if booking is not None:
                order_delivery_release(order_delivery_id=booking.pk)
        renewal_outcome_notify(renewal=renewal)
    if order is not None:
        _release_intent(renewal=renewal, payment_intent_id=open_intent)
    logger.info("renewal %s: unpaid at the deadline, delivery cancelled", renewal.pk)
    return renewal


def renewals_recover(*, enqueue_retry: EnqueueRetry, now: datetime | None = None) -> dict:
    """One pass of the recovery task: capture 3-D Secure payments the shopper completed
    without coming back, expire what is unpaid past its deadline, charge again stale
    ``ordered`` renewals (Stripe was unreachable), enqueue the retries that are due."""
    now = now or timezone.now()
    today = local_today(now=now)
    # The shopper may have passed 3-D Secure without their page coming back to us (tab
    # closed): read those intents again, and capture the ones now authorised.
    completed = 0
    for pk in (
        SubscriptionRenewal.objects.filter(
            status=RenewalStatus.REQUIRES_ACTION, updated_at__lt=now - timedelta(minutes=5)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    ):
        try:
            renewal = renewal_authentication_complete(renewal_id=pk, now=now)
        except RenewalPaymentError:
            continue
        completed += renewal.status == RenewalStatus.PAID
    expired = 0
    # A deadline is the day before delivery: only renewals delivered by the day after tomorrow
    # can be past it.
    for pk in (
        SubscriptionRenewal.objects.filter(
            status__in=UNPAID, delivery_date__lte=today + timedelta(2)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        if renewal_expire(renewal_id=pk, now=now).status == RenewalStatus.CANCELLED:
            expired += 1
    stale = list(
        SubscriptionRenewal.objects.filter(
            status=RenewalStatus.ORDERED, updated_at__lt=now - STALE_ORDERED
        )
        .order_by("pk")
        .values_list("subscription_id", "delivery_date")[:1000]
    )
    for subscription_id, delivery_date in stale:
        subscription_renew(subscription_id=subscription_id, delivery_date=delivery_date, now=now)
    due = list(
        SubscriptionRenewal.objects.filter(status=RenewalStatus.DECLINED, next_retry_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:5000]
    )
    for pk in due:
        enqueue_retry(pk)
    return {
        "completed": completed,
        "expired": expired,
        "recharged": len(stale),
        "retries": len(due),
    }
