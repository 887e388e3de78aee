"""Reconciliation: compare recent PaymentIntents on Stripe with the ledger and repair what a
missed webhook or a crashed worker left behind."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from payments.exceptions import PaymentError
from payments.models import StripeOperation
from payments.services.intents import (
    _intent_record,
    payment_intent_cancel,
    payment_intent_capture,
)
from payments.services.oscar_records import order_find
from payments.services.webhooks import payment_intent_failed_handle
from payments.stripe_client import stripe_client

logger = logging.getLogger("payments")

PAGE = 100


@dataclass
class ReconcileReport:
    seen: int = 0
    pending_repaired: list[str] = field(default_factory=list)
    authorisations_cancelled: list[str] = field(default_factory=list)
    paid_without_order: list[str] = field(default_factory=list)
    captured_for_orders: list[str] = field(default_factory=list)


def _recent_intents(*, since: datetime) -> list[Any]:
    """PaymentIntents created since ``since``. localstripe refuses ``created`` filters on
    PaymentIntents ("Unexpected created"), so we page through the list and filter here; real
    Stripe lists newest first, which the filter does not rely on."""
    threshold = int(since.timestamp())
    found = []
    for intent in (
        stripe_client().v1.payment_intents.list(params={"limit": PAGE}).auto_paging_iter()
    ):
        if intent.created >= threshold:
            found.append(intent)
    return found


def payments_reconcile(
    *, since: datetime, abandon_after: timedelta = timedelta(hours=1)
) -> ReconcileReport:
    """Repair the ledger from Stripe's view of PaymentIntents created since ``since``:

    - a ledger row still ``pending`` (the call's answer was lost) takes the intent's outcome;
    - an intent holding or having taken money (``requires_capture``/``succeeded``) with no
      Oscar order: if the order attempt is over (our ledger shows a failed/cancelled attempt,
      or a newer attempt for the same order) or it is older than ``abandon_after`` (an abandoned
      checkout), the authorisation is cancelled; otherwise it is reported (logged).
    """
    report = ReconcileReport()
    for intent in _recent_intents(since=since):
        report.seen += 1
        metadata = intent.metadata.to_dict() if intent.metadata else {}
        key = metadata.get("idempotency_key")
        order_number = metadata.get("order_number")
        if not key:
            continue  # not made by this shop
        _pending_repair(key=key, intent=intent, report=report)
        order = order_find(order_number=order_number)
        if intent.status == "requires_capture" and order is not None:
            _uncaptured_order_handle(order=order, intent=intent, report=report)
        elif intent.status in ("requires_capture", "succeeded") and order is None:
            abandoned = intent.created < (timezone.now() - abandon_after).timestamp()
            _orphan_handle(
                key=key,
                order_number=order_number,
                intent=intent,
                abandoned=abandoned,
                report=report,
            )
    logger.info(
        "reconcile since %s: %s intents, %s pending repaired, %s cancelled, %s paid without order",
        since.isoformat(), report.seen, len(report.pending_repaired),
        len(report.authorisations_cancelled), len(report.paid_without_order),
    )  # fmt: skip
    return report


def _uncaptured_order_handle(*, order: Any, intent: Any, report: ReconcileReport) -> None:
    """The order was committed but the process died before capturing (checkout step 3): take
    the money now, or release it if the order has been cancelled since."""
    from essentiels.oscar_forks.checkout.views import CANCELLED_STATUS

    try:
        if order.status == CANCELLED_STATUS:
            payment_intent_cancel(order_number=order.number, payment_intent_id=intent.id)
            report.authorisations_cancelled.append(intent.id)
        else:
            payment_intent_capture(order_number=order.number, payment_intent_id=intent.id)
            report.captured_for_orders.append(intent.id)
    except PaymentError as exc:
        logger.warning("reconcile: order %s, intent %s: %s", order.number, intent.id, exc.code)
        return
    logger.warning(
        "reconcile: order %s had an uncaptured authorisation %s", order.number, intent.id
    )


def _pending_repair(*, key: str, intent: Any, report: ReconcileReport) -> None:
    with transaction.atomic():
        op = (
            StripeOperation.objects.select_for_update(skip_locked=True)
            .filter(idempotency_key=key, status=StripeOperation.Status.PENDING)
            .first()
        )
        if op is None:
            return  # settled, or its call is running right now (row locked)
        op.stripe_id = intent.id
        op.stripe_status = intent.status
        op.response = {**op.response, **_intent_record(intent)}
        if intent.status in ("requires_capture", "succeeded", "requires_action", "processing"):
            op.status = StripeOperation.Status.SUCCEEDED
        elif intent.status in ("requires_payment_method", "canceled"):
            op.status = StripeOperation.Status.FAILED
        op.error = (op.error + "\nreconciled from Stripe").strip()
        op.save()
    if op.status == StripeOperation.Status.FAILED:
        payment_intent_failed_handle(payment_intent_id=intent.id, intent={"id": intent.id})
    report.pending_repaired.append(key)
    logger.warning("reconcile: pending %s repaired from %s (%s)", key, intent.id, intent.status)


def _order_attempt_over(*, key: str, order_number: str | None) -> bool:
    """The shop gave up on this authorisation: the ledger row failed, or a later attempt for
    the same order exists, or the order's authorisation was cancelled."""
    if not order_number:
        return False
    rows = StripeOperation.objects.filter(order_number=order_number)
    if rows.filter(idempotency_key=key, status=StripeOperation.Status.FAILED).exists():
        return True
    this = rows.filter(idempotency_key=key).first()
    return bool(
        this and rows.filter(kind=StripeOperation.Kind.PAYMENT_INTENT, pk__gt=this.pk).exists()
    )


def _orphan_handle(
    *, key: str, order_number: str | None, intent: Any, abandoned: bool, report: ReconcileReport
) -> None:
    if intent.status == "requires_capture" and (
        abandoned or _order_attempt_over(key=key, order_number=order_number)
    ):
        try:
            payment_intent_cancel(order_number=f"{order_number}", payment_intent_id=intent.id)
        except PaymentError as exc:
            logger.warning("reconcile: could not cancel %s: %s", intent.id, exc.code)
            return
        report.authorisations_cancelled.append(intent.id)
        logger.warning(
            "reconcile: cancelled orphan authorisation %s (order %s)", intent.id, order_number
        )
        return
    report.paid_without_order.append(intent.id)
    logger.warning(
        "reconcile: intent %s is %s but order %s does not exist",
        intent.id, intent.status, order_number,
    )  # fmt: skip
