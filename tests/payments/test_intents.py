"""Customers, SetupIntents and PaymentIntents against localstripe, through our ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from oscar.apps.order.models import PaymentEvent

from payments.exceptions import PaymentConflict, PaymentUnavailable
from payments.models import StripeCustomer, StripeOperation
from payments.services import (
    payment_intent_authorise,
    payment_intent_cancel,
    payment_intent_capture,
    setup_intent_create,
    stripe_customer_ensure,
)
from tests.conftest import race
from tests.payments.conftest import intents_for_order

DECLINED_ON_CHARGE = "4000000000000341"  # localstripe: attaches fine, every charge declined
NEEDS_3DS = "4000002500003155"  # localstripe: the intent comes back requires_action


def authorise(order_number, customer_id, pm_id, amount="42.50", **kwargs):
    return payment_intent_authorise(
        order_number=order_number,
        amount=Decimal(amount),
        customer_id=customer_id,
        payment_method_id=pm_id,
        off_session=kwargs.pop("off_session", False),
        **kwargs,
    )


def test_a_shopper_keeps_one_stripe_customer(db, django_user_model, stripe_api):
    # given a signed-in shopper and a guest
    user = django_user_model.objects.create_user(username="lea", email="lea@example.fr")
    # when each checks out twice
    first = stripe_customer_ensure(user=user, email=user.email)
    second = stripe_customer_ensure(user=user, email=user.email)
    guest = stripe_customer_ensure(email="guest@example.fr")
    guest_again = stripe_customer_ensure(email="Guest@Example.fr")
    # then each has one Customer, on Stripe too
    assert first == second
    assert guest == guest_again
    assert first != guest
    assert user.stripe_customer.customer_id == first
    assert StripeCustomer.objects.count() == 2
    assert stripe_api.v1.customers.retrieve(first).email == "lea@example.fr"


def test_setup_intent_saves_a_card_for_off_session_use(db, stripe_api, order_number):
    customer_id = stripe_customer_ensure(email="setup@example.fr")
    secret = setup_intent_create(customer_id=customer_id, order_number=order_number)
    intent_id = secret.split("_secret_")[0]
    # when the browser confirms it (what Stripe.js confirmCardSetup does)
    confirmed = stripe_api.v1.setup_intents.confirm(
        intent_id, params={"payment_method": "pm_card_visa"}
    )
    assert confirmed.status == "succeeded"
    assert stripe_api.v1.setup_intents.retrieve(intent_id).usage == "off_session"


def test_authorise_then_capture_records_the_capture_on_the_order(
    db, customer_with_card, order_factory, order_number, stripe_api
):
    customer_id, pm_id = customer_with_card()
    result = authorise(order_number, customer_id, pm_id, off_session=True)
    assert result.status == "authorised"
    assert stripe_api.v1.payment_intents.retrieve(result.payment_intent_id).amount == 4250
    # when the order exists and the payment is captured
    order = order_factory(order_number)
    op = payment_intent_capture(
        order_number=order_number, payment_intent_id=result.payment_intent_id
    )
    # then Stripe took the money and the order shows it once, even if reported twice
    assert stripe_api.v1.payment_intents.retrieve(result.payment_intent_id).status == "succeeded"
    assert op.status == StripeOperation.Status.SUCCEEDED
    payment_intent_capture(order_number=order_number, payment_intent_id=result.payment_intent_id)
    events = PaymentEvent.objects.filter(order=order)
    assert [(e.event_type.name, e.amount) for e in events] == [("Capture", Decimal("42.50"))]
    assert (
        StripeOperation.objects.get(idempotency_key=f"order-{order_number}-capture").attempts == 1
    )


def test_cancel_releases_the_authorisation(db, customer_with_card, order_number, stripe_api):
    customer_id, pm_id = customer_with_card()
    result = authorise(order_number, customer_id, pm_id)
    payment_intent_cancel(order_number=order_number, payment_intent_id=result.payment_intent_id)
    assert stripe_api.v1.payment_intents.retrieve(result.payment_intent_id).status == "canceled"
    ledger = StripeOperation.objects.get(stripe_id=result.payment_intent_id, kind="payment_intent")
    assert ledger.stripe_status == "canceled"


def test_a_declined_card_gives_a_french_message_and_is_not_retried(
    db, customer_with_card, order_number
):
    customer_id, pm_id = customer_with_card(DECLINED_ON_CHARGE)
    # when the shopper pays with a card the bank declines, then clicks again
    first = authorise(order_number, customer_id, pm_id)
    second = authorise(order_number, customer_id, pm_id)
    # then both answers say so in French, and Stripe was asked once
    assert first.status == second.status == "declined"
    assert "Votre carte a été refusée" in first.message
    op = StripeOperation.objects.get(idempotency_key=f"order-{order_number}-authorise")
    assert op.status == StripeOperation.Status.FAILED
    assert op.attempts == 1
    assert "card_declined" in op.error


def test_a_new_attempt_after_a_decline_can_succeed(db, customer_with_card, order_number):
    customer_id, bad_pm = customer_with_card(DECLINED_ON_CHARGE)
    _customer, good_pm = customer_with_card()
    assert authorise(order_number, customer_id, bad_pm).status == "declined"
    result = authorise(order_number, customer_id, good_pm, attempt=2)
    assert result.status == "authorised"
    assert result.idempotency_key == f"order-{order_number}-authorise-2"


def test_3d_secure_asks_for_the_shopper(db, customer_with_card, order_number):
    customer_id, pm_id = customer_with_card(NEEDS_3DS)
    result = authorise(order_number, customer_id, pm_id)
    assert result.status == "requires_action"
    assert result.client_secret.startswith(result.payment_intent_id + "_secret_")


def test_calling_twice_makes_one_payment_intent(db, customer_with_card, order_number, stripe_api):
    customer_id, pm_id = customer_with_card()
    first = authorise(order_number, customer_id, pm_id)
    second = authorise(order_number, customer_id, pm_id)
    assert first == second
    assert len(intents_for_order(stripe_api, order_number)) == 1
    assert StripeOperation.objects.get(kind="payment_intent").attempts == 1


def test_a_tampered_amount_for_the_same_order_is_refused(db, customer_with_card, order_number):
    customer_id, pm_id = customer_with_card()
    authorise(order_number, customer_id, pm_id, amount="42.50")
    with pytest.raises(PaymentConflict):
        authorise(order_number, customer_id, pm_id, amount="0.50")


@pytest.mark.parametrize("amount", ["0", "-5.00", "10.001", "NaN"])
def test_invalid_amounts_never_reach_stripe(db, amount, order_number):
    with pytest.raises(PaymentConflict):
        authorise(order_number, "cus_x", "pm_x", amount=amount)
    assert not StripeOperation.objects.exists()


def test_a_foreign_currency_is_refused(db, order_number):
    with pytest.raises(PaymentConflict):
        authorise(order_number, "cus_x", "pm_x", currency="USD")


def test_stripe_unreachable_gives_a_french_message_and_a_pending_row(
    db, settings, customer_with_card, order_number
):
    customer_id, pm_id = customer_with_card()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(PaymentUnavailable) as caught:
        authorise(order_number, customer_id, pm_id)
    assert "Notre service de paiement ne répond pas" in caught.value.message
    op = StripeOperation.objects.get(kind="payment_intent")
    # outcome unknown: pending, so a retry (same key) or the reconciliation settles it
    assert op.status == StripeOperation.Status.PENDING
    assert "APIConnectionError" in op.error


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_racing_authorisations_make_exactly_one_payment_intent(
    customer_with_card, order_number, stripe_api
):
    # given one order and 8 servers submitting it at the same moment
    customer_id, pm_id = customer_with_card()
    results = race(8, authorise, order_number, customer_id, pm_id)
    # then all get the same authorisation and Stripe holds one PaymentIntent
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r.payment_intent_id for r in results} == {results[0].payment_intent_id}
    assert {r.status for r in results} == {"authorised"}
    assert len(intents_for_order(stripe_api, order_number)) == 1
    assert StripeOperation.objects.get(kind="payment_intent").attempts == 1
