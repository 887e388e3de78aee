"""SetupIntents (save a card for off-session use) and PaymentIntents (authorise, capture,
cancel). Amounts are Decimal euros; Stripe gets integer cents computed with an explicit quantize.

Flow the checkout follows (manual capture, so a failure between payment and order costs the
shopper nothing): ``payment_intent_authorise`` → create the order and book delivery in one
transaction → ``payment_intent_capture``; if anything fails, ``payment_intent_cancel``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext as _

from payments.exceptions import PaymentDeclined
from payments.models import StripeOperation
from payments.services.ledger import (
    amount_to_cents,
    cents_to_amount,
    currency_check,
    stripe_operation_run,
)
from payments.services.oscar_records import order_find, order_payment_event_record
from payments.stripe_client import stripe_client

logger = logging.getLogger("payments")


def _id_of(value: Any) -> str:
    # localstripe expands ``latest_charge`` into the object; real Stripe returns its id.
    if value is None:
        return ""
    return value if isinstance(value, str) else value.id


def _intent_record(intent: Any) -> dict[str, Any]:
    return {
        "id": intent.id,
        "status": intent.status,
        "client_secret": intent.client_secret,
        "amount": intent.amount,
        "currency": intent.currency,
        "latest_charge": _id_of(getattr(intent, "latest_charge", None)),
    }


def setup_intent_create(*, customer_id: str, order_number: str) -> str:
    """A SetupIntent to save a card on this Customer for off-session (weekly) charges; returns
    its client secret, which the browser confirms with Stripe.js ``confirmCardSetup``."""

    def call(idempotency_key: str):
        return stripe_client().v1.setup_intents.create(
            params={
                "customer": customer_id,
                "usage": "off_session",
                "payment_method_types": ["card"],
                "metadata": {"order_number": order_number},
            },
            options={"idempotency_key": idempotency_key},
        )

    op = stripe_operation_run(
        idempotency_key=f"order-{order_number}-setup",
        kind=StripeOperation.Kind.SETUP_INTENT,
        order_number=order_number,
        call=call,
        record=lambda intent: {
            "id": intent.id,
            "status": intent.status,
            "client_secret": intent.client_secret,
        },
        request={"customer": customer_id},
    )
    return op.response["client_secret"]


@dataclass(frozen=True)
class AuthorisationResult:
    """What the checkout needs after an authorisation attempt.

    authorised: the amount is held (PaymentIntent ``requires_capture``): create the order,
        then capture. requires_action: the bank wants the shopper (3-D Secure): hand
        ``client_secret`` to Stripe.js ``handleCardAction``/``confirmCardPayment``, then call
        ``payment_intent_authorise`` again (it returns the intent's current state).
    declined: ``message`` says why, in the shopper's language; no money was held.
    """

    status: Literal["authorised", "requires_action", "declined"]
    payment_intent_id: str
    client_secret: str = ""
    message: str = ""
    idempotency_key: str = ""


def authorise_key(*, order_number: str, attempt: int = 1) -> str:
    return (
        f"order-{order_number}-authorise"
        if attempt == 1
        else f"order-{order_number}-authorise-{attempt}"
    )


def payment_intent_authorise(
    *,
    order_number: str,
    amount: Decimal,
    currency: str = "EUR",
    customer_id: str,
    payment_method_id: str,
    off_session: bool,
    attempt: int = 1,
) -> AuthorisationResult:
    """Create and confirm a manual-capture PaymentIntent for the order's total.

    Idempotent per (order, attempt): calling again — a double click, a retried task, racing
    servers — returns the recorded result and makes no second PaymentIntent. A new card after
    a decline is a new ``attempt``. The amount and currency must be the server's own figures;
    the same key with another amount raises ``PaymentConflict``. Network errors raise
    ``PaymentUnavailable``; other Stripe errors ``PaymentError`` (both with a shopper message).
    """
    cents = amount_to_cents(amount=amount)
    currency = currency_check(currency=currency)
    key = authorise_key(order_number=order_number, attempt=attempt)

    def call(idempotency_key: str):
        params: dict[str, Any] = {
            "amount": cents,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
            # Never setup_future_usage: the card is saved by a SetupIntent (localstripe rejects
            # it, and one flow for both servers is simpler).
            "metadata": {"order_number": order_number, "idempotency_key": idempotency_key},
        }
        if off_session:
            params["off_session"] = True
        try:
            return stripe_client().v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except Exception as exc:
            # Off-session 3-D Secure: real Stripe answers 402 authentication_required with the
            # intent attached; that is "requires_action", not a decline.
            intent = getattr(getattr(exc, "error", None), "payment_intent", None)
            if getattr(exc, "code", None) == "authentication_required" and intent is not None:
                return intent
            raise

    try:
        op = stripe_operation_run(
            idempotency_key=key,
            kind=StripeOperation.Kind.PAYMENT_INTENT,
            order_number=order_number,
            amount=amount,
            currency=currency,
            call=call,
            record=_intent_record,
            request={
                "customer": customer_id,
                "payment_method": payment_method_id,
                "off_session": off_session,
            },
        )
    except PaymentDeclined as exc:
        logger.info("order %s: card declined (%s)", order_number, exc.code)
        return AuthorisationResult(
            status="declined", payment_intent_id="", message=exc.message, idempotency_key=key
        )
    if op.response.get("status") in ("requires_action", "requires_confirmation"):
        op = payment_intent_refresh(op=op)
    return _authorisation_result(op)


def payment_intent_refresh(*, op: StripeOperation) -> StripeOperation:
    """Read the intent's current state from Stripe (a read: no ledger key needed) onto the
    row, e.g. after the shopper passed 3-D Secure in the browser."""
    intent = stripe_client().v1.payment_intents.retrieve(op.stripe_id)
    op.response = {**op.response, **_intent_record(intent)}
    op.stripe_status = intent.status
    op.save(update_fields=["response", "stripe_status", "updated_at"])
    return op


def _authorisation_result(op: StripeOperation) -> AuthorisationResult:
    response = op.response
    status = response.get("status")
    if status in ("requires_capture", "succeeded"):
        return AuthorisationResult(
            status="authorised", payment_intent_id=op.stripe_id, idempotency_key=op.idempotency_key
        )
    if status in ("requires_action", "requires_confirmation"):
        return AuthorisationResult(
            status="requires_action",
            payment_intent_id=op.stripe_id,
            client_secret=response.get("client_secret", ""),
            idempotency_key=op.idempotency_key,
        )
    logger.warning("order %s: intent %s came back %s", op.order_number, op.stripe_id, status)
    return AuthorisationResult(
        status="declined",
        payment_intent_id=op.stripe_id,
        message=_(
            "Your card was declined. No money was taken; please try another card or "
            "contact your bank."
        ),
        idempotency_key=op.idempotency_key,
    )


def payment_intent_capture(*, order_number: str, payment_intent_id: str) -> StripeOperation:
    """Capture the authorised amount; once per order. Records a capture payment event on the
    Oscar order when it exists."""
    op = stripe_operation_run(
        idempotency_key=f"order-{order_number}-capture",
        kind=StripeOperation.Kind.CAPTURE,
        order_number=order_number,
        call=lambda key: stripe_client().v1.payment_intents.capture(
            payment_intent_id, options={"idempotency_key": key}
        ),
        record=_intent_record,
        request={"payment_intent": payment_intent_id},
    )
    StripeOperation.objects.filter(
        kind=StripeOperation.Kind.PAYMENT_INTENT, stripe_id=payment_intent_id
    ).update(stripe_status=op.stripe_status)
    order = order_find(order_number=order_number)
    if order is not None:
        order_payment_event_record(
            order=order,
            kind="capture",
            amount=cents_to_amount(cents=op.response["amount"]),
            reference=payment_intent_id,
        )
    return op


def payment_intent_cancel(*, order_number: str, payment_intent_id: str) -> StripeOperation:
    """Release an authorisation (the order could not be created, or was abandoned)."""
    op = stripe_operation_run(
        # Per intent: an order may have had several attempts to release.
        idempotency_key=f"order-{order_number}-cancel-{payment_intent_id}",
        kind=StripeOperation.Kind.CANCEL,
        order_number=order_number,
        call=lambda key: stripe_client().v1.payment_intents.cancel(
            payment_intent_id, options={"idempotency_key": key}
        ),
        record=_intent_record,
        request={"payment_intent": payment_intent_id},
    )
    StripeOperation.objects.filter(
        kind=StripeOperation.Kind.PAYMENT_INTENT, stripe_id=payment_intent_id
    ).update(stripe_status=op.stripe_status)
    return op
