"""The shopper's whole journey in Chromium: find a basket, give a served address, pay with a test
card on localstripe, land on the confirmation with the delivery date; and a declined card."""

import re

import pytest
from django.core.management import call_command
from oscar.apps.order.models import Order

from delivery.models import OrderDelivery
from payments.models import StripeOperation

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_shop():
    call_command("load_demo", verbosity=0)


def to_payment_page(page, base: str, email: str) -> None:
    # the shopper finds a vegetarian basket for two and puts it in their order
    page.goto(f"{base}/paniers/?diet=vegetarian")
    page.get_by_role("link", name="Panier Essentiel végétarien").first.click()
    # a single delivery: a weekly basket (the default) would need an account
    page.get_by_label("Une seule fois").check()
    page.get_by_role("button", name="Ajouter à ma commande").click()
    # checks out as a guest with an address in Paris 13e
    page.goto(f"{base}/checkout/")
    page.fill("#id_username", email)
    page.check("input[name=options][value=anonymous]")
    page.locator("form#login_form button[type=submit], form button[type=submit]").first.click()
    page.fill("#id_first_name", "Camille")
    page.fill("#id_last_name", "Martin")
    page.fill("#id_line1", "12 rue de Tolbiac")
    page.fill("#id_line4", "Paris")
    page.fill("#id_postcode", "75013")
    page.get_by_role("button", name=re.compile("Continuer")).click()
    page.wait_for_url(re.compile(r"/checkout/preview/"))


def pay_with(page, number: str) -> None:
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("75013")
    page.locator("#place-order").click()


def test_a_shopper_pays_and_sees_the_delivery_date(live_server, page, demo_shop):
    to_payment_page(page, live_server.url, "camille@example.org")
    assert "Livraison le mardi" in page.content()
    # when they pay with a card that works
    pay_with(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/checkout/thank-you/"), timeout=30_000)
    # then the confirmation shows the Tuesday delivery
    assert "Livré le mardi" in page.content()
    order = Order.objects.get()
    assert OrderDelivery.objects.get(order=order).delivery_date.weekday() == 1
    # and the money was authorised then captured once, for the order's total
    # (the card was saved by the SetupIntent of attempt 1)
    operations = StripeOperation.objects.filter(order_number__startswith=order.number)
    assert sorted(operations.values_list("kind", flat=True)) == sorted(
        ["setup_intent", "payment_intent", "capture"]
    )
    assert order.sources.get().amount_debited == order.total_incl_tax


def test_a_declined_card_shows_the_error_and_leaves_no_order(live_server, page, demo_shop):
    to_payment_page(page, live_server.url, "dominique@example.org")
    # when the card is refused by the bank at payment (it could be saved)
    pay_with(page, "4000000000000341")
    page.wait_for_load_state()
    # then the shopper reads why, and no order exists
    page.wait_for_selector("text=refusée", timeout=30_000)
    assert not Order.objects.exists()
    # and another card goes through, as a new attempt
    pay_with(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/checkout/thank-you/"), timeout=30_000)
    order = Order.objects.get()
    assert order.sources.get().amount_debited == order.total_incl_tax
