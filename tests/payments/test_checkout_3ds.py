"""3-D Secure at the checkout's payment step, in Chromium against localstripe.

Card 4000002500003155 needs the shopper twice: when Stripe.js saves it (``confirmCardSetup``, the
SetupIntent comes back ``requires_action``) and when the server authorises the order's total (the
PaymentIntent comes back ``requires_action``; the page is re-rendered with
``data-authentication-secret`` and Stripe.js runs ``confirmCardPayment``). localstripe's Stripe.js
stand-in asks each time with a DOM box: "Complete authentication" / "Fail authentication".
"""

import re

import pytest
from django.core.management import call_command
from oscar.apps.order.models import Order

from payments.models import StripeOperation
from tests.payments.test_checkout_journey import pay_with, to_payment_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CARD_3DS = "4000002500003155"
COMPLETE = "Complete authentication"
FAIL = "Fail authentication"


@pytest.fixture
def demo_shop():
    call_command("load_demo", verbosity=0)


def answer_3ds(page, choice: str) -> None:
    """The shopper answers localstripe's 3-D Secure box (it is removed once clicked)."""
    button = page.get_by_role("button", name=choice)
    button.click(timeout=30_000)
    button.wait_for(state="detached")


def complete_3ds_of_card_setup(page) -> None:
    """Completes the card-saving authentication; the form posts the card and the server, told by
    the bank that the payment needs 3-D Secure too, re-renders the page with the intent's secret."""
    # The click posts the form: the next page may show the payment's own box at once (same
    # button name), so wait for that navigation rather than for this box to go away.
    with page.expect_navigation(timeout=30_000):
        page.get_by_role("button", name=COMPLETE).click(timeout=30_000)
    secret = page.get_attribute("#place_order_form", "data-authentication-secret") or ""
    assert secret.startswith("pi_"), page.locator(".alert").all_inner_texts()


def test_a_shopper_completes_3ds_and_the_order_is_paid(live_server, page, demo_shop):
    to_payment_page(page, live_server.url, "sacha@example.org")
    # given a card whose bank asks for 3-D Secure, entered on the payment step
    pay_with(page, CARD_3DS)
    # when the shopper completes it when the card is saved (SetupIntent)...
    complete_3ds_of_card_setup(page)
    # ...and again when the order's total is authorised (PaymentIntent), on the re-rendered page
    answer_3ds(page, COMPLETE)
    # then they land on the confirmation
    page.wait_for_url(re.compile(r"/checkout/thank-you/"), timeout=30_000)
    # and exactly one order exists, its total authorised then captured once
    order = Order.objects.get()
    operations = StripeOperation.objects.filter(order_number__startswith=order.number)
    assert sorted(operations.values_list("kind", flat=True)) == sorted(
        ["setup_intent", "payment_intent", "capture"]
    )
    assert order.sources.get().amount_debited == order.total_incl_tax


def test_a_shopper_who_fails_3ds_at_payment_sees_an_error_and_gets_no_order(
    live_server, page, demo_shop
):
    to_payment_page(page, live_server.url, "noa@example.org")
    # given a 3-D Secure card, saved after a completed authentication
    pay_with(page, CARD_3DS)
    complete_3ds_of_card_setup(page)
    # when the shopper fails the authentication of the payment
    answer_3ds(page, FAIL)
    # then the page says the card was refused, and no order exists
    page.wait_for_selector("text=refusée", timeout=30_000)
    assert not Order.objects.exists()
    # and the form is ready for another card (a new attempt, no pending authentication)
    assert page.get_attribute("#place_order_form", "data-authentication-secret") == ""
    assert page.is_enabled("#place-order")


def test_a_shopper_who_fails_3ds_when_saving_the_card_sees_an_error_and_gets_no_order(
    live_server, page, demo_shop
):
    to_payment_page(page, live_server.url, "eden@example.org")
    # given a 3-D Secure card entered on the payment step
    pay_with(page, CARD_3DS)
    # when the shopper fails the authentication asked when the card is saved
    answer_3ds(page, FAIL)
    # then the card's error is shown, the page stays on the payment step and no order exists
    page.wait_for_selector("#card-errors:has-text('authentication failed')", timeout=30_000)
    assert re.search(r"/checkout/preview/", page.url)
    assert page.is_enabled("#place-order")
    assert not Order.objects.exists()
    assert not StripeOperation.objects.filter(kind=StripeOperation.Kind.PAYMENT_INTENT).exists()
