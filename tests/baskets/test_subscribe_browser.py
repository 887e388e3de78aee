"""Subscribing in Chromium: a guest picks a basket « Chaque semaine », is asked to sign in at the
checkout (the cart follows), pays with a test card on localstripe, and finds the subscription
on the thank-you page and in « Mes abonnements »."""

import re

import pytest
from django.core.management import call_command
from oscar.apps.order.models import Order
from oscar.test.factories import UserFactory

from baskets.models import BasketSubscription
from delivery.models import OrderDelivery
from tests.payments.test_checkout_journey import pay_with

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "un-mot-de-passe-solide"


@pytest.fixture(autouse=True)
def _stripe_settings(settings, localstripe_url):
    # The live server (a thread of this process) and Stripe.js both talk to the test's
    # localstripe.
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_subscribe"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_subscribe"


@pytest.fixture
def demo_shop():
    call_command("load_demo", verbosity=0)


def test_a_guest_signs_in_and_subscribes_to_a_weekly_basket(live_server, page, demo_shop):
    base = live_server.url
    user = UserFactory(email="lea@example.org", first_name="Léa", password=PASSWORD)
    # given a shopper who checked that Paris 13e is delivered, on a basket's page
    page.goto(f"{base}/livraison/?postcode=75013")
    page.goto(f"{base}/paniers/?diet=vegetarian")
    page.get_by_role("link", name="Panier Essentiel végétarien").first.click()
    # then « Chaque semaine » is the choice made for them, and the day is named
    assert page.get_by_label("Chaque semaine").is_checked()
    assert not page.get_by_label("Une seule fois").is_checked()
    assert "livré chaque mardi" in page.content()
    # when they add it and go to the checkout as a guest
    page.get_by_role("button", name="Ajouter à ma commande").click()
    page.goto(f"{base}/basket/")
    assert page.locator(".line-frequency-weekly").count() == 1
    page.goto(f"{base}/checkout/")
    # then they are asked for an account (no guest option), and sign in
    assert "un abonnement demande un compte" in page.content()
    assert page.locator("input[name=options][value=anonymous]").count() == 0
    page.fill("#id_username", user.email)
    page.check("input[name=options][value=existing]")
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    # their cart followed them: the address, then the preview with the weekly basket
    page.wait_for_url(re.compile(r"/checkout/shipping-address/"))
    page.fill("#id_first_name", "Léa")
    page.fill("#id_last_name", "Martin")
    page.fill("#id_line1", "12 rue de Tolbiac")
    page.fill("#id_line4", "Paris")
    page.fill("#id_postcode", "75013")
    page.get_by_role("button", name=re.compile("Continuer")).click()
    page.wait_for_url(re.compile(r"/checkout/preview/"))
    assert "Ce panier démarre un abonnement hebdomadaire" in page.content()
    # when they pay with a card that works
    pay_with(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/checkout/thank-you/"), timeout=30_000)
    # then the thank-you page says the subscription started
    assert "Votre abonnement hebdomadaire a démarré." in page.content()
    order = Order.objects.get()
    subscription = BasketSubscription.objects.get()
    assert subscription.user == user
    assert subscription.first_order == order
    assert subscription.variant.product == order.lines.get().product
    assert subscription.district == OrderDelivery.objects.get(order=order).district
    # with the card the browser saved (a payment method of the shopper's own Customer)
    assert subscription.stripe_payment_method_id.startswith("pm_")
    assert subscription.starts_on > OrderDelivery.objects.get(order=order).delivery_date
    # and « Mes abonnements » lists it
    page.locator(".subscription-started a", has_text="Mes abonnements").click()
    page.wait_for_url(re.compile(r"/paniers/compte/abonnements/"))
    assert page.locator(f"a[href$='/paniers/compte/abonnements/{subscription.pk}/']").count()


def test_a_single_delivery_still_goes_through_as_a_guest(live_server, page, demo_shop):
    base = live_server.url
    page.goto(f"{base}/paniers/?diet=vegetarian")
    page.get_by_role("link", name="Panier Essentiel végétarien").first.click()
    # when the shopper picks « Une seule fois »
    page.get_by_label("Une seule fois").check()
    page.get_by_role("button", name="Ajouter à ma commande").click()
    page.goto(f"{base}/checkout/")
    # then the guest option is there
    assert page.locator("input[name=options][value=anonymous]").count() == 1
