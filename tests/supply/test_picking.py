"""Ops: warehouse picking totals per delivery date (placed orders live, subscriptions still to
renew from the forecast, substitutions applied), on screen and as CSV/XLSX/PDF."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from oscar.test.factories import UserFactory

from essentiels.roles import OPS_GROUP, roles_sync
from supply.selectors import picking_totals
from supply.services.forecast import supply_forecast_refresh
from supply.services.substitutions import substitution_declare
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import BEFORE_CUTOFF, DELIVERY, subscription_create
from tests.delivery.factories import paris_13e
from tests.supply.factories import order_placed_create

pytestmark = pytest.mark.django_db
URL = "/admin/supply/pickingtotals/"


@pytest.fixture
def ops(client):
    user = UserFactory(is_staff=True)
    user.groups.add(roles_sync()[OPS_GROUP])
    client.force_login(user)
    return user


@pytest.fixture
def tuesday():
    # given on 8 December: an order of 2 baskets (2 rice + 1 « =cmd » each) and a subscriber
    # of 1 basket not renewed yet; rice is replaced by semolina that day
    rice, oil = make_grocery("Riz"), make_grocery("=cmd|' /C calc'!A0")
    semolina = make_grocery("Semoule")
    variant = make_variant(components={rice: 2, oil: 1})
    district = paris_13e()
    order_placed_create(variant=variant, quantity=2, district=district, delivery_date=DELIVERY)
    subscription_create(variant=variant, district=district)
    substitution_declare(
        product_id=rice.pk, substitute_id=semolina.pk, delivery_date=DELIVERY, now=BEFORE_CUTOFF
    )
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    return rice, oil, semolina


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_ops_see_the_dates_picking_totals_with_substitutions(client, ops, tuesday):
    rice, oil, semolina = tuesday
    # then the selector: semolina instead of rice, orders live + the renewal to come
    rows = {row.product_id: row for row in picking_totals(delivery_date=DELIVERY)}
    assert rice.pk not in rows
    assert (rows[semolina.pk].from_orders, rows[semolina.pk].to_renew) == (4, 2)
    assert (rows[oil.pk].from_orders, rows[oil.pk].to_renew, rows[oil.pk].total) == (2, 1, 3)
    # when an Ops member opens the admin, the screen is listed and shows the 8th by default
    assert "Totaux de préparation de l’entrepôt" in client.get("/admin/").content.decode()
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["day"] == DELIVERY
    content = response.content.decode()
    assert "Semoule" in content
    assert "<strong>6</strong>" in content
    # a bad date is a message, not a crash
    response = client.get(URL + "?date=demain")
    assert response.status_code == 200
    assert "n’est pas une date" in response.content.decode()
    # the CSV export neutralises formulas; XLSX and PDF are served too
    exported = b"".join(client.get(f"{URL}2026-12-08.csv").streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(exported)))
    assert table[0][2:] == ["Produit", "Commandes passées", "Abonnements à renouveler", "Quantité"]
    assert ["'=cmd|' /C calc'!A0", "2", "1", "3"] == table[1][2:]
    assert client.get(f"{URL}2026-12-08.xlsx").status_code == 200
    assert client.get(f"{URL}2026-12-08.pdf")["Content-Type"] == "application/pdf"
    assert client.get(f"{URL}2026-13-08.csv").status_code == 404


def test_staff_outside_ops_and_back_office_cannot_see_picking_totals(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}2026-12-08.csv").status_code == 403


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_the_bus_picking_list_picks_the_substitute(tuesday):
    from delivery.routing.manifests import manifest_build
    from delivery.routing.services.planning import route_plan
    from tests.delivery.routing_factories import BusFactory

    rice, oil, semolina = tuesday
    # given the date planned on one bus (DELIVERY is a Tuesday)
    bus = BusFactory()
    plan = route_plan(delivery_date=DELIVERY, seconds=0.2).plan
    assert plan.routes.get().bus == bus
    # when ops print the warehouse picking list of that bus
    rows = list(manifest_build(plan=plan, kind="picking_list", bus_id=bus.pk).rows)
    # then the placed order's 2 baskets are picked with semolina instead of rice
    picked = {(product_id, title): quantity for _bus, product_id, title, quantity in rows}
    assert picked == {(str(semolina.pk), "Semoule"): 4, (str(oil.pk), oil.title): 2}
