"""Refunds, full or partial, by staff (Oscar's dashboard) or by code."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from payments.exceptions import PaymentConflict, PaymentError
from payments.models import StripeOperation
from payments.services.ledger import (
    amount_to_cents,
    cents_to_amount,
    stripe_operation_run,
)
from payments.services.oscar_records import order_find, order_payment_event_record
from payments.stripe_client import stripe_client

logger = logging.getLogger("payments")


def refund_key(*, order_number: str, sequence: int) -> str:
    return f"refund-{order_number}-{sequence}"


def refund_next_sequence(*, order_number: str) -> int:
    """The sequence number the next refund of this order takes. The dashboard form carries the
    number it was rendered with, so a double submit is one refund, not two."""
    return (
        StripeOperation.objects.filter(
            kind=StripeOperation.Kind.REFUND, order_number=order_number
        ).count()
        + 1
    )


def refunded_total(*, payment_intent_id: str) -> Decimal:
    total = StripeOperation.objects.filter(
        kind=StripeOperation.Kind.REFUND,
        status=StripeOperation.Status.SUCCEEDED,
        request__payment_intent=payment_intent_id,
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


def captured_total(*, payment_intent_id: str) -> Decimal:
    capture = (
        StripeOperation.objects.filter(
            kind=StripeOperation.Kind.CAPTURE,
            status=StripeOperation.Status.SUCCEEDED,
            request__payment_intent=payment_intent_id,
        )
        .order_by("pk")
        .first()
    )
    if capture is not None:
        return cents_to_amount(cents=capture.response["amount"])
    # Captured outside the ledger (say, in Stripe's dashboard): ask Stripe.
    intent = stripe_client().v1.payment_intents.retrieve(payment_intent_id)
    return cents_to_amount(cents=intent.amount_received or 0)


def refund_create(
    *,
    order_number: str,
    payment_intent_id: str,
    amount: Decimal | None,
    by_user_id: int | None,
    sequence: int | None = None,
) -> StripeOperation:
    """Refund ``amount`` (None: what is left to refund) of a captured payment.

    One Stripe refund per (order, sequence); ``sequence`` defaults to the next one. Refuses
    more than what is left (``PaymentConflict``). Records a refund payment event on the Oscar
    order (and the Stripe ``Source``'s refunded amount) when the order exists.
    """
    sequence = sequence or refund_next_sequence(order_number=order_number)
    key = refund_key(order_number=order_number, sequence=sequence)
    captured = captured_total(payment_intent_id=payment_intent_id)
    if amount is None:
        recorded = StripeOperation.objects.filter(idempotency_key=key).first()
        # A replayed "refund the rest" is the refund recorded under this key, not a new one.
        amount = (
            recorded.amount
            if recorded is not None
            else (captured - refunded_total(payment_intent_id=payment_intent_id))
        )
    cents = amount_to_cents(amount=amount)

    def before_call(op: StripeOperation) -> None:
        # Inside this refund's row lock: lock the order's other refund rows as well, so two
        # different refunds of one order cannot both pass the balance check.
        list(
            StripeOperation.objects.select_for_update()
            .filter(kind=StripeOperation.Kind.REFUND, order_number=order_number)
            .exclude(pk=op.pk)
            .order_by("pk")
        )
        left = captured - refunded_total(payment_intent_id=payment_intent_id)
        if amount > left:
            raise PaymentConflict(
                _("The refund exceeds what is left to refund on this order (%(left)s €).")
                % {"left": left},
                code="refund_exceeds",
            )

    op = stripe_operation_run(
        idempotency_key=key,
        kind=StripeOperation.Kind.REFUND,
        order_number=order_number,
        amount=amount,
        currency="EUR",
        call=lambda key: stripe_client().v1.refunds.create(
            params={
                "payment_intent": payment_intent_id,
                "amount": cents,
                "metadata": {"order_number": order_number, "by_user_id": str(by_user_id or "")},
            },
            options={"idempotency_key": key},
        ),
        record=lambda refund: {"id": refund.id, "status": refund.status, "amount": refund.amount},
        request={"payment_intent": payment_intent_id, "by_user_id": by_user_id},
        before_call=before_call,
    )
    logger.info(
        "order %s: refund %s of %s € by user %s", order_number, op.stripe_id, amount, by_user_id
    )
    order = order_find(order_number=order_number)
    if order is not None:
        order_payment_event_record(
            order=order, kind="refund", amount=amount, reference=op.stripe_id
        )
    return op


__all__ = ["PaymentError", "refund_create", "refund_next_sequence", "refunded_total"]
