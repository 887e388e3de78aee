"""The webhook endpoint: signatures verified, each event processed once, in any order."""

from __future__ import annotations

import json
import logging
import time
import uuid
from decimal import Decimal

import pytest
import stripe
from oscar.apps.order.models import PaymentEvent

from payments.models import StripeEvent, StripeOperation
from payments.services import payment_intent_authorise, payment_intent_capture
from tests.payments.conftest import WEBHOOK_SECRET

URL = "/paiements/webhook/stripe/"


def signed(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return payload, header


def intent_event(kind: str, pi_id: str, order_number: str, amount: int = 4250) -> dict:
    return {
        "id": f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": kind,
        "livemode": False,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": pi_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "metadata": {"order_number": order_number},
                "last_payment_error": {"message": "Your card was declined."},
            }
        },
    }


def post(client, event, **kwargs):
    payload, header = signed(event, **kwargs)
    return client.post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


@pytest.fixture
def pending_authorisation(db, order_number):
    return StripeOperation.objects.create(
        idempotency_key=f"order-{order_number}-authorise",
        kind="payment_intent",
        order_number=order_number,
        amount=Decimal("42.50"),
        currency="EUR",
        stripe_id="pi_webhooktest" + order_number,
        stripe_status="requires_capture",
    )


def test_a_signed_event_is_processed_once_and_a_replay_is_ignored(
    client, eager_tasks, django_capture_on_commit_callbacks, pending_authorisation, order_factory
):
    op = pending_authorisation
    order = order_factory(op.order_number)
    event = intent_event("payment_intent.succeeded", op.stripe_id, op.order_number)
    # when Stripe sends it, then sends it again
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post(client, event).status_code == 200
    with django_capture_on_commit_callbacks(execute=True) as replayed:
        assert post(client, event).status_code == 200
    # then it is recorded once, processed once (the replay queues nothing): the ledger and the
    # order show the capture
    assert (len(callbacks), len(replayed)) == (1, 0)
    row = StripeEvent.objects.get()
    assert row.status == StripeEvent.Status.PROCESSED
    assert row.processed_at
    op.refresh_from_db()
    assert (op.status, op.stripe_status) == ("succeeded", "succeeded")
    assert PaymentEvent.objects.filter(order=order).count() == 1


def test_an_event_received_while_the_broker_is_down_is_processed_later(
    client,
    eager_tasks,
    django_capture_on_commit_callbacks,
    pending_authorisation,
    order_factory,
    monkeypatch,
):
    from payments.tasks import stripe_event_process_task

    op = pending_authorisation
    order = order_factory(op.order_number)
    event = intent_event("payment_intent.succeeded", op.stripe_id, op.order_number)

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    # given Redis down when Stripe delivers the event: acknowledged, recorded, not processed
    monkeypatch.setattr(stripe_event_process_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, event).status_code == 200
    assert StripeEvent.objects.get().status == StripeEvent.Status.RECEIVED
    # when Stripe delivers it again with the broker back, it is processed, once
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, event).status_code == 200
        assert post(client, event).status_code == 200
    assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
    op.refresh_from_db()
    assert op.stripe_status == "succeeded"
    assert PaymentEvent.objects.filter(order=order).count() == 1


def test_the_sweeper_processes_events_whose_task_was_lost(
    eager_tasks, pending_authorisation, order_factory
):
    from datetime import timedelta

    from django.utils import timezone

    from payments.services.webhooks import stripe_event_record
    from payments.tasks import stripe_events_sweep_task

    op = pending_authorisation
    order = order_factory(op.order_number)
    # given an event recorded three minutes ago whose task never ran, and one just received
    old, _ = stripe_event_record(
        event=intent_event("payment_intent.succeeded", op.stripe_id, op.order_number)
    )
    StripeEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(minutes=3))
    fresh, _ = stripe_event_record(
        event=intent_event("payment_intent.succeeded", "pi_other", "nothing-1")
    )
    # when the sweeper runs (twice), then only the old one is processed, once
    assert stripe_events_sweep_task() == 1
    assert stripe_events_sweep_task() == 0
    assert StripeEvent.objects.get(pk=old.pk).status == StripeEvent.Status.PROCESSED
    assert StripeEvent.objects.get(pk=fresh.pk).status == StripeEvent.Status.RECEIVED
    assert PaymentEvent.objects.filter(order=order).count() == 1


def test_a_late_payment_failed_changes_nothing(
    client, eager_tasks, django_capture_on_commit_callbacks, pending_authorisation
):
    op = pending_authorisation
    with django_capture_on_commit_callbacks(execute=True):
        post(client, intent_event("payment_intent.succeeded", op.stripe_id, op.order_number))
        post(client, intent_event("payment_intent.payment_failed", op.stripe_id, op.order_number))
    op.refresh_from_db()
    assert (op.status, op.stripe_status) == ("succeeded", "succeeded")
    assert StripeEvent.objects.filter(status="processed").count() == 2


def test_payment_failed_marks_a_pending_attempt_failed(
    client, eager_tasks, django_capture_on_commit_callbacks, pending_authorisation
):
    op = pending_authorisation
    StripeOperation.objects.filter(pk=op.pk).update(stripe_status="")
    with django_capture_on_commit_callbacks(execute=True):
        post(client, intent_event("payment_intent.payment_failed", op.stripe_id, op.order_number))
    op.refresh_from_db()
    assert op.status == "failed"
    assert "declined" in op.error


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "whsec_forged"},
        {"timestamp": int(time.time()) - 301},  # outside the 5 minutes tolerance
    ],
    ids=["forged-signature", "stale-timestamp"],
)
def test_forged_or_stale_events_are_rejected_without_state_change(
    client, pending_authorisation, caplog, tamper
):
    op = pending_authorisation
    event = intent_event("payment_intent.succeeded", op.stripe_id, op.order_number)
    with caplog.at_level(logging.WARNING, logger="payments"):
        assert post(client, event, **tamper).status_code == 400
    assert not StripeEvent.objects.exists()
    op.refresh_from_db()
    assert op.status == "pending"
    assert "stripe webhook rejected" in caplog.text


def test_no_signature_and_get_are_rejected(client, db):
    assert client.post(URL, data="{}", content_type="application/json").status_code == 400
    assert client.get(URL).status_code == 405


def test_an_unknown_type_is_acknowledged_and_logged(client, db, caplog):
    event = {"id": "evt_unknown1", "type": "customer.created", "data": {"object": {}}}
    with caplog.at_level(logging.INFO, logger="payments"):
        assert post(client, event).status_code == 200
    assert StripeEvent.objects.get().status == StripeEvent.Status.IGNORED
    assert "unhandled type customer.created" in caplog.text


def test_webhooks_have_no_language_prefix(client, db):
    assert client.post("/en" + URL, data="{}", content_type="application/json").status_code == 404


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_its_event_over_http(
    localstripe_webhook, customer_with_card, order_factory, order_number
):
    # given our endpoint registered with localstripe, an order and its authorisation
    customer_id, pm_id = customer_with_card()
    result = payment_intent_authorise(
        order_number=order_number,
        amount=Decimal("19.90"),
        customer_id=customer_id,
        payment_method_id=pm_id,
        off_session=True,
    )
    order_factory(order_number)
    # when the payment is captured, localstripe sends payment_intent.succeeded (after ~1 s)
    payment_intent_capture(order_number=order_number, payment_intent_id=result.payment_intent_id)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        event = StripeEvent.objects.filter(
            type="payment_intent.succeeded",
            payload__data__object__id=result.payment_intent_id,
        ).first()
        if event and event.status == StripeEvent.Status.PROCESSED:
            break
        time.sleep(0.2)
    # then it arrived signed, was recorded and processed; the capture shows once on the order
    assert event is not None
    assert event.status == StripeEvent.Status.PROCESSED
    op = StripeOperation.objects.get(kind="payment_intent", stripe_id=result.payment_intent_id)
    assert op.stripe_status == "succeeded"
    assert PaymentEvent.objects.filter(order__number=order_number).count() == 1
