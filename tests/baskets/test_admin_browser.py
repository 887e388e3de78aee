"""The live rules panel, in a real browser: figures change while the composition is edited."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.baskets.conftest import make_grocery, make_variant

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_cost_per_person_day_is_recomputed_before_saving(live_server, page):
    # given a 2-person basket of one product costing 7.00 € (0,50 € per person-day)
    get_user_model().objects.create_superuser("root", "root@essentiels.localhost", "secret-pw")
    product = make_grocery("Lentilles corail", cost="7.00")
    variant = make_variant(components={product: 1}, persons=2, price="20.00")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root@essentiels.localhost")
    page.fill("#id_password", "secret-pw")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/baskets/basketvariant/{variant.pk}/change/")
    panel = page.locator("#live-rules")
    # (locator waits, not wait_for_function: the Content-Security-Policy forbids eval)
    panel.locator("dl").wait_for()
    assert "0,50 €" in panel.inner_text()
    # when staff raise the quantity to 11, without saving
    page.fill('input[name="components-0-quantity"]', "11")
    # then the panel shows 77,00 € / 14 = 5,50 € and the broken ceiling, before any save
    expect(panel).to_contain_text("5,50")
    text = panel.inner_text()
    assert "77,00 €" in text
    assert "Au-dessus du plafond de 5,00 €" in text
