"""A double click on « Payer »: two requests for one cart race, and end at one order, one charge."""

import threading

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from oscar.apps.order.models import Order

from payments.models import StripeOperation
from tests.delivery.factories import paris_13e
from tests.delivery.test_checkout import address, start_checkout


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_racing_submissions_place_one_order_and_charge_once(client, stripe_card):
    from oscar.test.factories import CountryFactory

    CountryFactory(iso_3166_1_a2="FR", printable_name="France", is_shipping_country=True)
    # given a shopper on the preview page of Paris 13e, with a saved card
    paris_13e()
    start_checkout(client)
    client.post(reverse("checkout:shipping-address"), address("75013", "Paris"))
    client.get(reverse("checkout:shipping-method"))
    assert client.get(reverse("checkout:preview")).status_code == 200
    card = stripe_card("camille@example.org")
    # when the same browser posts the order twice at the same moment
    twin = Client()
    twin.cookies = client.cookies
    barrier = threading.Barrier(2)
    responses = {}

    def submit(name, browser):
        try:
            barrier.wait()
            responses[name] = browser.post(
                reverse("checkout:preview"), {"action": "place_order", "payment_method_id": card}
            )
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=submit, args=(name, browser))
        for name, browser in (("first", client), ("second", twin))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then there is one order, paid once, and neither click saw an error page
    order = Order.objects.get()
    assert order.sources.get().amount_debited == order.total_incl_tax
    operations = StripeOperation.objects.filter(order_number=order.number)
    assert operations.get(kind="payment_intent").attempts == 1
    assert operations.filter(kind="capture").count() == 1
    assert not operations.filter(kind="cancel").exists()
    for response in responses.values():
        assert response.status_code == 302
        assert response["Location"].endswith(reverse("checkout:thank-you"))
