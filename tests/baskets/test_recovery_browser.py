"""The payment page of a weekly order, in Chromium against localstripe: the shopper follows the
email's link, passes 3-D Secure, or gives another card after a decline."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from baskets.models import RenewalStatus
from baskets.services.renewal import subscription_renew
from tests.baskets.subscription_factories import AFTER_CUTOFF, DELIVERY
from tests.baskets.test_renewal import _stripe_settings, subscribed  # noqa: F401 — fixtures
from tests.payments.conftest import (  # noqa: F401 — fixtures
    customer_with_card,
    localstripe_url,
    stripe_api,
)
from tests.payments.test_checkout_journey import pay_with

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def signed_in(page, live_server, user) -> None:
    """The shopper's browser holds a session (as after signing in)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )


def test_the_shopper_completes_3d_secure_from_the_emailed_link(live_server, page, subscribed):
    # given a weekly charge the bank wants the shopper to authenticate
    subscription = subscribed(card="4000002500003155")
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    assert renewal.status == RenewalStatus.REQUIRES_ACTION
    signed_in(page, live_server, subscription.user)
    # when they open the payment page, the bank's box comes up at once and they complete it
    page.goto(live_server.url + reverse("baskets:renewal-payment", kwargs={"pk": renewal.pk}))
    with page.expect_navigation(timeout=30_000):
        page.get_by_role("button", name="Complete authentication").click(timeout=30_000)
    # then the page says it is paid, and it is
    page.get_by_text("Cette livraison est payée : merci !").first.wait_for(timeout=30_000)
    renewal.refresh_from_db()
    assert renewal.status == RenewalStatus.PAID


def test_after_a_decline_the_shopper_pays_with_another_card(live_server, page, subscribed):
    subscription = subscribed(card="4000000000000341")
    declined_card = subscription.stripe_payment_method_id
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    assert renewal.status == RenewalStatus.DECLINED
    signed_in(page, live_server, subscription.user)
    page.goto(live_server.url + reverse("baskets:renewal-payment", kwargs={"pk": renewal.pk}))
    page.get_by_text("Votre carte a été refusée").first.wait_for()
    # when they enter another card (saved by a SetupIntent in the browser) and pay
    pay_with(page, "4242424242424242")
    page.get_by_text("Merci : cette livraison est payée.").first.wait_for(timeout=30_000)
    renewal.refresh_from_db()
    subscription.refresh_from_db()
    assert renewal.status == RenewalStatus.PAID
    # and that card is the subscription's card from now on
    assert subscription.stripe_payment_method_id.startswith("pm_")
    assert subscription.stripe_payment_method_id != declined_card
