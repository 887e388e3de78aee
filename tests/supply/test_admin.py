"""The supply page, its export and the buyers' forms, for the Back-office group."""

from __future__ import annotations

import io
from datetime import date

import pytest
import time_machine
from django.contrib.auth.models import Group
from oscar.test.factories import UserFactory

from essentiels.roles import BACK_OFFICE_GROUP, roles_sync
from supply.models import SupplyCommitment
from supply.services.forecast import supply_forecast_refresh
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import BEFORE_CUTOFF, subscription_create
from tests.supply.factories import stock_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(client):
    roles_sync()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=BACK_OFFICE_GROUP))
    client.force_login(user)
    return user


@pytest.fixture
def short_rice():
    # given 3 rice in stock and subscribers needing 4 a week: the basket is short every week
    rice = make_grocery('=HYPERLINK("http://x")')
    stock_set(rice, 3)
    variant = make_variant(components={rice: 2})
    subscription_create(variant=variant, quantity=2)
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    return rice, variant


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_supply_page_shows_the_shortfall_with_the_baskets_it_affects(client, buyer, short_rice):
    rice, variant = short_rice
    # when the buyer opens the supply page, shortfalls only
    response = client.get("/admin/supply/supplycommitment/page/?short=1")
    # then the week of 7 December is 1 short, naming the basket and its Tuesday
    assert response.status_code == 200
    content = response.content.decode()
    week = next(w for w in response.context["weeks"] if w.week == date(2026, 12, 7))
    row = week.short_rows[0]
    assert (row.product_id, row.demand, row.stock, row.shortfall) == (rice.pk, 4, 3, 1)
    assert row.affected[0].variant_id == variant.pk
    assert row.affected[0].dates == (date(2026, 12, 8),)
    assert "<svg" in content
    assert "08/12" in content


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_xlsx_export_never_executes_formulas(client, buyer, short_rice):
    from openpyxl import load_workbook

    response = client.get("/admin/supply/supplycommitment/page.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    titles = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://x")' in titles
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_negative_committed_supply_is_refused_with_a_reason(client, buyer):
    rice = make_grocery("Riz")
    response = client.post(
        "/admin/supply/supplycommitment/add/",
        {"product": rice.pk, "week": "2026-12-09", "quantity": "-5", "note": ""},
    )
    assert response.status_code == 200
    assert "ne peut pas être négative" in response.content.decode()
    assert not SupplyCommitment.objects.exists()
    # a valid one is stored on its Monday, by its buyer
    client.post(
        "/admin/supply/supplycommitment/add/",
        {"product": rice.pk, "week": "2026-12-09", "quantity": "40", "note": ""},
    )
    saved = SupplyCommitment.objects.get()
    assert (saved.week, saved.quantity, saved.updated_by) == (date(2026, 12, 7), 40, buyer)


def test_staff_outside_back_office_cannot_see_the_supply_page(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/supply/supplycommitment/page/").status_code == 403
    assert client.get("/admin/supply/supplycommitment/page.xlsx").status_code == 403
