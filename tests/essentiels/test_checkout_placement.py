"""Order placement is atomic: a booking refused at the last moment leaves no order behind."""

import pytest
from django.urls import reverse
from oscar.apps.order.models import Order

from delivery.models import OrderDelivery
from tests.delivery.factories import paris_13e
from tests.delivery.test_checkout import address, france, start_checkout  # noqa: F401

pytestmark = pytest.mark.django_db


def test_no_order_is_left_when_every_date_fills_up_while_placing(
    client,
    france,  # noqa: F811 — the fixture imported above
    monkeypatch,
    stripe_card,
):
    # given a shopper on the preview page for Paris 13e
    paris_13e()
    start_checkout(client)
    client.post(reverse("checkout:shipping-address"), address("75013", "Paris"))
    client.get(reverse("checkout:shipping-method"))
    assert client.get(reverse("checkout:preview")).status_code == 200
    # when every date fills up between the preview and the booking (another shopper's race)
    monkeypatch.setattr("delivery.services.booking.delivery_date_book", lambda **kwargs: False)
    card = stripe_card("camille@example.org")
    response = client.post(
        reverse("checkout:preview"), {"action": "place_order", "payment_method_id": card}
    )
    # then the shopper sees why, and no order (nor half an order) was written
    assert response.status_code == 200
    assert "complète" in response.content.decode()
    assert not Order.objects.exists()
    assert not OrderDelivery.objects.exists()
    # and the money held for it was released
    from payments.models import StripeOperation

    assert StripeOperation.objects.filter(kind="cancel", status="succeeded").count() == 1
