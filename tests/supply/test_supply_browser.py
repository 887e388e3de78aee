"""The supply page in Chromium: a buyer logs into the admin, opens the supply page, sees the
chart and a shortfall with the basket it affects, filters shortfalls, enters committed supply
(a negative figure is refused with the reason) and sees the shortfall gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from delivery.calendar import local_today
from essentiels.roles import BACK_OFFICE_GROUP, roles_sync
from supply.models import SupplyCommitment
from supply.selectors import supply_overview
from supply.services.forecast import supply_forecast_refresh
from supply.services.weeks import supply_weeks
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import subscription_create
from tests.delivery.factories import paris_13e
from tests.supply.factories import stock_set

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "approvisionnement-1"  # noqa: S105 — a test account's password


def test_a_buyer_sees_a_shortfall_and_covers_it_with_committed_supply(live_server, page):
    # given rice short every week: 3 in stock, 2 subscribers of 2 rice a week (real clock)
    roles_sync()
    buyer = get_user_model().objects.create_user(
        username="acheteur", email="achat@essentiels.localhost", password=PASSWORD, is_staff=True
    )
    buyer.groups.add(Group.objects.get(name=BACK_OFFICE_GROUP))
    rice = make_grocery("Riz basmati")
    stock_set(rice, 3)
    variant = make_variant(components={rice: 2})
    district = paris_13e()
    for _ in range(2):
        subscription_create(
            variant=variant, district=district, starts_on=local_today() - timedelta(days=7)
        )
    supply_forecast_refresh()
    short_week = next(week.week for week in supply_overview() if week.short_rows)
    # when the buyer logs in and opens the supply page from the committed supply list
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", buyer.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/supply/supplycommitment/")
    page.click("text=Page d'approvisionnement")
    # then the chart is drawn and the short rice names the basket it affects
    assert page.locator("svg[role=img] rect").count() == 2 * len(supply_weeks())
    page.click("text=Manques seulement")
    short_rows = page.locator("tr.supply-short")
    assert short_rows.count() >= 1
    first = short_rows.first.inner_text()
    assert "Riz basmati" in first
    assert variant.themed_basket.product.title in first
    # when they enter a negative commitment, it is refused with the reason
    page.goto(f"{live_server.url}/admin/supply/supplycommitment/add/")
    page.fill("#id_product", str(rice.pk))
    page.fill("#id_week", short_week.strftime("%d/%m/%Y"))
    page.fill("#id_quantity", "-4")
    page.click("input[name=_save]")
    assert "ne peut pas être négative" in page.locator(".errorlist").first.inner_text()
    assert not SupplyCommitment.objects.exists()
    # and with 100 a week committed for every week, the forecast shows no shortfall any more
    for week in supply_weeks():
        page.goto(f"{live_server.url}/admin/supply/supplycommitment/add/")
        page.fill("#id_product", str(rice.pk))
        page.fill("#id_week", week.strftime("%d/%m/%Y"))
        page.fill("#id_quantity", "100")
        page.click("input[name=_save]")
        page.wait_for_url("**/admin/supply/supplycommitment/")
    supply_forecast_refresh()
    page.goto(f"{live_server.url}/admin/supply/supplycommitment/page/?short=1")
    assert page.locator("tr.supply-short").count() == 0
    assert page.locator("svg[role=img]").is_visible()
