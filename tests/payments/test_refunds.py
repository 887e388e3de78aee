"""Refunds, full and partial, from code and from Oscar's dashboard order page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from oscar.apps.order.models import PaymentEvent
from oscar.apps.payment.models import Source

from payments.exceptions import PaymentConflict
from payments.models import StripeOperation
from payments.services import (
    payment_intent_authorise,
    payment_intent_capture,
    refund_create,
)
from payments.services.oscar_records import stripe_source_type


@pytest.fixture
def paid_order(db, customer_with_card, order_factory, order_number):
    """An Oscar order paid 42.50 € (authorised, captured) with a Stripe payment source."""
    customer_id, pm_id = customer_with_card()
    result = payment_intent_authorise(
        order_number=order_number,
        amount=Decimal("42.50"),
        customer_id=customer_id,
        payment_method_id=pm_id,
        off_session=False,
    )
    order = order_factory(order_number)
    Source.objects.create(
        order=order, source_type=stripe_source_type(), amount_allocated=Decimal("42.50")
    )
    payment_intent_capture(order_number=order_number, payment_intent_id=result.payment_intent_id)
    return order, result.payment_intent_id


def stripe_refunds(stripe_api, pi_id):
    return stripe_api.v1.refunds.list(params={"payment_intent": pi_id, "limit": 100}).data


def test_partial_then_full_refund(paid_order, stripe_api):
    order, pi_id = paid_order
    # when staff refund 10 € then the rest
    refund_create(
        order_number=order.number, payment_intent_id=pi_id, amount=Decimal("10.00"), by_user_id=None
    )
    refund_create(order_number=order.number, payment_intent_id=pi_id, amount=None, by_user_id=None)
    # then Stripe has both, and the order shows them as refund events and on its source
    assert sorted(r.amount for r in stripe_refunds(stripe_api, pi_id)) == [1000, 3250]
    events = PaymentEvent.objects.filter(order=order, event_type__name="Remboursement")
    assert sorted(e.amount for e in events) == [Decimal("10.00"), Decimal("32.50")]
    assert Source.objects.get(order=order).amount_refunded == Decimal("42.50")
    assert Source.objects.get(order=order).amount_debited == Decimal("42.50")


def test_a_refund_beyond_what_is_left_is_refused(paid_order, stripe_api):
    order, pi_id = paid_order
    refund_create(
        order_number=order.number, payment_intent_id=pi_id, amount=Decimal("40.00"), by_user_id=None
    )
    with pytest.raises(PaymentConflict) as caught:
        refund_create(
            order_number=order.number,
            payment_intent_id=pi_id,
            amount=Decimal("5.00"),
            by_user_id=None,
        )
    assert "dépasse" in caught.value.message
    assert len(stripe_refunds(stripe_api, pi_id)) == 1


def test_the_same_refund_submitted_twice_is_one_refund(paid_order, stripe_api):
    order, pi_id = paid_order
    for _ in range(2):
        refund_create(
            order_number=order.number,
            payment_intent_id=pi_id,
            amount=Decimal("5.00"),
            by_user_id=None,
            sequence=1,
        )
    assert len(stripe_refunds(stripe_api, pi_id)) == 1
    assert StripeOperation.objects.get(kind="refund").attempts == 1


@pytest.fixture
def staff_client(client, django_user_model):
    def make(*, allowed: bool):
        user = django_user_model.objects.create_user(
            username="staff", email="staff@example.fr", password="pw", is_staff=True
        )
        if allowed:
            user.user_permissions.add(Permission.objects.get(codename="change_order"))
        client.force_login(user)
        return client

    return make


def test_the_dashboard_order_page_has_the_refund_form(paid_order, admin_client):
    order, _pi_id = paid_order
    page = admin_client.get(f"/dashboard/orders/{order.number}/")
    assert page.status_code == 200
    assert b"stripe-refund-form" in page.content


def test_staff_refund_from_the_dashboard(paid_order, staff_client, stripe_api):
    order, pi_id = paid_order
    client = staff_client(allowed=True)
    response = client.post(
        "/paiements/remboursement/",
        {"order_number": order.number, "sequence": 1, "amount": "12.50"},
    )
    assert response.status_code == 302
    assert [r.amount for r in stripe_refunds(stripe_api, pi_id)] == [1250]
    assert PaymentEvent.objects.filter(order=order, event_type__name="Remboursement").exists()


def test_staff_without_permission_cannot_refund(paid_order, staff_client, stripe_api):
    order, pi_id = paid_order
    client = staff_client(allowed=False)
    response = client.post(
        "/paiements/remboursement/", {"order_number": order.number, "sequence": 1, "amount": "1.00"}
    )
    assert response.status_code == 403
    assert stripe_refunds(stripe_api, pi_id) == []
