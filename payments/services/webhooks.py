"""Webhook events: recorded once, processed once, in any order.

The view verifies the signature and calls ``stripe_event_record``; processing runs in a Celery
task (``payments.tasks.stripe_event_process_task``) enqueued after commit, which calls
``stripe_event_process``. Every handler is idempotent and order-independent: it moves the
ledger forward (never back: a late ``payment_failed`` after ``succeeded`` changes nothing) and
records Oscar payment events keyed by the Stripe id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from payments.models import StripeEvent, StripeOperation
from payments.services.ledger import cents_to_amount
from payments.services.oscar_records import order_find, order_payment_event_record

logger = logging.getLogger("payments")

# The intent's states that no later event may undo.
FINAL_INTENT_STATUSES = ("succeeded", "canceled")


def stripe_event_record(*, event: dict[str, Any]) -> tuple[StripeEvent, bool]:
    """Store a verified event; returns (row, created). ``created`` is False for a replay, which
    must not be processed again. Unknown types are stored as ignored."""
    handled = event.get("type") in EVENT_HANDLERS
    row, created = StripeEvent.objects.get_or_create(
        event_id=event["id"],
        defaults={
            "type": event.get("type", ""),
            "livemode": bool(event.get("livemode", False)),
            "payload": event,
            "status": StripeEvent.Status.RECEIVED if handled else StripeEvent.Status.IGNORED,
        },
    )
    return row, created


def stripe_event_process(*, event_pk: int) -> None:
    """Process one recorded event, once (a redelivered task finds it processed)."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_pk)
        if event.status != StripeEvent.Status.RECEIVED:
            logger.info("stripe event %s already %s", event.event_id, event.status)
            return
        handler = EVENT_HANDLERS[event.type]
        obj = event.payload.get("data", {}).get("object", {})
        handler(obj)
        event.status = StripeEvent.Status.PROCESSED
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "processed_at"])
    logger.info("stripe event %s %s processed", event.event_id, event.type)


def stripe_events_waiting(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Events recorded but still not processed a while after they arrived (their task was lost:
    broker down, worker killed before acknowledging): the sweeper processes them."""
    cutoff = timezone.now() - older_than
    return list(
        StripeEvent.objects.filter(status=StripeEvent.Status.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:500]
    )


def _intent_rows(*, payment_intent_id: str, order_number: str | None):
    rows = StripeOperation.objects.select_for_update().filter(
        kind=StripeOperation.Kind.PAYMENT_INTENT
    )
    found = list(rows.filter(stripe_id=payment_intent_id).order_by("pk"))
    if not found and order_number:
        # The authorisation call crashed before we learnt the intent's id: the ledger row is
        # still pending without one. The intent's metadata names its ledger key.
        found = list(rows.filter(order_number=order_number, stripe_id="").order_by("pk"))
    return found


def payment_intent_succeeded_handle(
    *, payment_intent_id: str, intent: dict[str, Any] | None = None
) -> None:
    """The money was taken (Stripe fires ``succeeded`` on capture).

    Now: the ledger row becomes succeeded/``succeeded``, and an existing Oscar order gets a
    capture payment event (once). Extension point for the checkout: when no order exists for
    ``order_number``, this is where the order will be created from the frozen cart — the
    submit button, the return page and this webhook must all end at the same single order.
    """
    intent = intent or {"id": payment_intent_id}
    order_number = (intent.get("metadata") or {}).get("order_number")
    for op in _intent_rows(payment_intent_id=payment_intent_id, order_number=order_number):
        order_number = order_number or op.order_number
        op.stripe_id = payment_intent_id
        op.stripe_status = "succeeded"
        if op.status == StripeOperation.Status.PENDING:
            op.status = StripeOperation.Status.SUCCEEDED
        op.save(update_fields=["stripe_id", "stripe_status", "status", "updated_at"])
    order = order_find(order_number=order_number)
    if order is None:
        logger.info("intent %s succeeded; no order %s yet", payment_intent_id, order_number)
        return
    amount = intent.get("amount_received") or intent.get("amount")
    if amount:
        order_payment_event_record(
            order=order,
            kind="capture",
            amount=cents_to_amount(cents=int(amount)),
            reference=payment_intent_id,
        )


def payment_intent_failed_handle(
    *, payment_intent_id: str, intent: dict[str, Any] | None = None
) -> None:
    """The payment failed. Changes nothing once the intent succeeded or was cancelled."""
    intent = intent or {"id": payment_intent_id}
    order_number = (intent.get("metadata") or {}).get("order_number")
    error = (intent.get("last_payment_error") or {}).get("message", "")
    for op in _intent_rows(payment_intent_id=payment_intent_id, order_number=order_number):
        if op.stripe_status in FINAL_INTENT_STATUSES or op.stripe_status == "requires_capture":
            logger.info(
                "intent %s: late payment_failed ignored (%s)", op.stripe_id, op.stripe_status
            )
            continue
        op.stripe_id = payment_intent_id
        op.stripe_status = "requires_payment_method"
        if op.status == StripeOperation.Status.PENDING:
            op.status = StripeOperation.Status.FAILED
            op.error = error or "payment_intent.payment_failed"
        op.save(update_fields=["stripe_id", "stripe_status", "status", "error", "updated_at"])


def charge_refunded_handle(*, charge: dict[str, Any]) -> None:
    """A refund happened. Ours are already recorded by ``refund_create``; one made elsewhere
    (Stripe's dashboard) is recorded as the difference, under a key unique per refunded total."""
    payment_intent_id = charge.get("payment_intent") or ""
    refunded = cents_to_amount(cents=int(charge.get("amount_refunded") or 0))
    # Pending rows count: our refund call may still be in flight (its row is locked, so this
    # waits for it to finish).
    ours = StripeOperation.objects.select_for_update().filter(
        kind=StripeOperation.Kind.REFUND,
        status__in=[StripeOperation.Status.PENDING, StripeOperation.Status.SUCCEEDED],
        request__payment_intent=payment_intent_id,
    )
    known = sum((op.amount or Decimal(0) for op in ours), Decimal("0.00"))
    missing = refunded - known
    if missing <= 0 or not payment_intent_id:
        return
    intent_op = (
        StripeOperation.objects.filter(
            kind=StripeOperation.Kind.PAYMENT_INTENT, stripe_id=payment_intent_id
        )
        .order_by("pk")
        .first()
    )
    order_number = (charge.get("metadata") or {}).get("order_number") or (
        intent_op.order_number if intent_op else None
    )
    op, created = StripeOperation.objects.get_or_create(
        idempotency_key=f"stripe-refund-{charge.get('id')}-{int(refunded * 100)}",
        defaults={
            "kind": StripeOperation.Kind.REFUND,
            "order_number": order_number,
            "amount": missing,
            "currency": (charge.get("currency") or "eur").upper(),
            "status": StripeOperation.Status.SUCCEEDED,
            "stripe_id": charge.get("id", ""),
            "request": {"payment_intent": payment_intent_id, "source": "webhook"},
        },
    )
    order = order_find(order_number=order_number)
    if created and order is not None:
        order_payment_event_record(
            order=order, kind="refund", amount=missing, reference=op.idempotency_key
        )
    logger.info("charge %s refunded outside the shop: %s €", charge.get("id"), missing)


EVENT_HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "payment_intent.succeeded": lambda obj: payment_intent_succeeded_handle(
        payment_intent_id=obj["id"], intent=obj
    ),
    "payment_intent.payment_failed": lambda obj: payment_intent_failed_handle(
        payment_intent_id=obj["id"], intent=obj
    ),
    "charge.refunded": lambda obj: charge_refunded_handle(charge=obj),
}
