"""In Chromium, with the Content-Security-Policy on: the card typed on the payment page goes to
Stripe (localstripe) and never to us — the browser posts only the payment method's id."""

import re

import pytest
from oscar.apps.order.models import Order

from tests.payments.test_checkout_journey import demo_shop, pay_with, to_payment_page  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    # The live server and Stripe.js both talk to the test's localstripe (tests/conftest.py).
    pytest.mark.usefixtures("stripe_card"),
]

CARD = "4242424242424242"


def test_the_card_number_is_never_posted_to_the_shop(live_server, page, demo_shop):  # noqa: F811
    posted: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda request: posted.append((request.url, request.post_data or ""))
        if request.method == "POST" and request.url.startswith(live_server.url)
        else None,
    )
    to_payment_page(page, live_server.url, "carte@example.org")
    # the card fields (Stripe's, mounted by Stripe.js) have no name: a form cannot submit them
    fields = page.locator("#card-element input")
    assert fields.count() >= 4
    assert all(fields.nth(i).get_attribute("name") is None for i in range(fields.count()))
    # when the shopper pays
    pay_with(page, CARD)
    page.wait_for_url(re.compile(r"/checkout/thank-you/"), timeout=30_000)
    assert Order.objects.count() == 1
    # then what reached the shop named a payment method, and no card number or code
    payment = [body for url, body in posted if "/checkout/preview/" in url]
    assert payment
    assert all("payment_method_id=pm_" in body for body in payment)
    for _url, body in posted:
        assert CARD not in body
        assert not re.search(r"(cvc|exp_month|exp_year|card\[)", body)
