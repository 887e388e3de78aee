"""Reconciliation repairs what a lost answer or a missed webhook left behind."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from payments.models import StripeOperation
from payments.services import payment_intent_authorise, payments_reconcile


def authorise(order_number, customer_id, pm_id, **kwargs):
    return payment_intent_authorise(
        order_number=order_number,
        amount=Decimal("30.00"),
        customer_id=customer_id,
        payment_method_id=pm_id,
        off_session=False,
        **kwargs,
    )


def test_a_pending_row_takes_the_outcome_stripe_recorded(db, customer_with_card, order_number):
    # given an authorisation whose answer was lost (the row stayed pending, without the id)
    customer_id, pm_id = customer_with_card()
    result = authorise(order_number, customer_id, pm_id)
    StripeOperation.objects.filter(kind="payment_intent").update(
        status="pending", stripe_id="", stripe_status="", response={}
    )
    # when the reconciliation runs
    report = payments_reconcile(since=timezone.now() - timedelta(minutes=5))
    # then the row knows its intent and that it succeeded
    op = StripeOperation.objects.get(kind="payment_intent")
    assert op.status == "succeeded"
    assert op.stripe_id == result.payment_intent_id
    assert op.stripe_status == "requires_capture"
    assert op.idempotency_key in report.pending_repaired


def test_an_orphan_authorisation_of_an_abandoned_attempt_is_cancelled(
    db, customer_with_card, order_number, stripe_api
):
    # given a first authorisation the shop moved on from (a second attempt exists), no order
    customer_id, pm_id = customer_with_card()
    first = authorise(order_number, customer_id, pm_id)
    second = authorise(order_number, customer_id, pm_id, attempt=2)
    # when the reconciliation runs
    report = payments_reconcile(since=timezone.now() - timedelta(minutes=5))
    # then the first hold is released; the current one is only reported (its order may come)
    assert first.payment_intent_id in report.authorisations_cancelled
    assert stripe_api.v1.payment_intents.retrieve(first.payment_intent_id).status == "canceled"
    assert second.payment_intent_id in report.paid_without_order
    assert stripe_api.v1.payment_intents.retrieve(second.payment_intent_id).status == (
        "requires_capture"
    )


def test_an_order_left_uncaptured_by_a_dead_process_is_captured(
    db, customer_with_card, order_number, order_factory, stripe_api
):
    # given an order committed with its authorisation, then the process died before capture
    customer_id, pm_id = customer_with_card()
    result = authorise(order_number, customer_id, pm_id)
    order_factory(order_number)
    # when the reconciliation runs
    report = payments_reconcile(since=timezone.now() - timedelta(minutes=5))
    # then the money is taken, once, and the order says so
    assert result.payment_intent_id in report.captured_for_orders
    assert stripe_api.v1.payment_intents.retrieve(result.payment_intent_id).status == "succeeded"
    assert StripeOperation.objects.filter(kind="capture", order_number=order_number).count() == 1
    # and a second run changes nothing
    again = payments_reconcile(since=timezone.now() - timedelta(minutes=5))
    assert result.payment_intent_id not in again.captured_for_orders
