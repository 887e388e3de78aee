"""The ops page of a delivery date's routes, in Chromium: log into the admin as an Ops member,
find the date, see the map and the routes, move a stop to another bus, download a route sheet."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from delivery.routing.models import ManifestExport, PlannedOrder, RouteStop, RouteStopMove
from delivery.routing.services.planning import route_plan
from essentiels.roles import OPS_GROUP, roles_sync
from tests.delivery.factories import DistrictFactory
from tests.delivery.routing_factories import BusFactory, DepotFactory, order_at

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TUESDAY = date(2031, 3, 4)
PASSWORD = "tournees-secret-1"  # noqa: S105 — a test account's password


@pytest.fixture
def ops_user():
    user = get_user_model().objects.create_user(
        username="ops", email="ops@essentiels.localhost", password=PASSWORD, is_staff=True
    )
    user.groups.add(roles_sync()[OPS_GROUP])
    return user


@pytest.fixture
def planned():
    # two buses of 8 baskets, 5 stops of 2 baskets: one bus has room for another stop
    district = DistrictFactory(name="Paris 13e Arrondissement", insee_code="75113")
    depot = DepotFactory()
    BusFactory(depot=depot, name="Bus Bleu", capacity=8)
    BusFactory(depot=depot, name="Bus Rouge", capacity=8)
    for n in range(1, 6):
        order_at(district, day=TUESDAY, line1=f"{n * 10} rue de Tolbiac", baskets=2)
    return route_plan(delivery_date=TUESDAY, seconds=0.3).plan


def test_ops_find_the_date_see_the_map_move_a_stop_and_download_a_route_sheet(
    live_server, page, ops_user, planned, tmp_path: Path
):
    routes = list(planned.routes.select_related("bus").order_by("load", "pk"))
    roomy, fuller = routes[0], routes[-1]
    assert roomy.load + 2 <= roomy.capacity
    # given an Ops member logged into the admin
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", ops_user.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    # when they open the route plans and ask for the date
    page.goto(f"{live_server.url}{reverse('admin:delivery_routeplan_changelist')}")
    page.fill("#routes-day", TUESDAY.isoformat())
    page.locator("#routes-day").press("Enter")
    page.wait_for_url(f"**{reverse('admin:delivery_routeplan_date', args=['2031-03-04'])}**")
    # then they see the map (one line per bus, one dot per stop, the depot) and both routes
    svg = page.locator("svg.routes-map")
    assert svg.is_visible()
    assert svg.locator("polyline").count() == 2
    assert svg.locator("circle").count() == RouteStop.objects.filter(route__plan=planned).count()
    assert svg.locator("rect").count() == 1
    summary = page.locator("section[aria-labelledby=routes-summary]").inner_text()
    for route in routes:
        assert f"{route.load}/{route.capacity}" in summary
        assert route.bus.name in summary
    # when they move the first stop of the fuller bus to the other one
    stop = fuller.stops.order_by("sequence").first()
    form = page.locator(
        f"form[action$='{reverse('admin:delivery_routeplan_move', args=[stop.pk])}']"
    )
    form.locator("select").select_option(str(roomy.pk))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    # then the page says so with the new load, and the stop rides on that bus
    message = page.locator("ul.messagelist li.success").inner_text()
    assert roomy.bus.name in message
    assert f"{roomy.load + stop.baskets}/{roomy.capacity}" in message
    assert RouteStop.objects.get(pk=stop.pk).route_id == roomy.pk
    assert RouteStopMove.objects.get().to_bus == roomy.bus
    # when they download that bus's route sheet as CSV
    link = page.locator(f"a[href*='route_sheet.csv'][href$='bus={roomy.bus_id}']")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    # then it is the bus's sheet, with the moved stop's order on it, and the export is logged
    assert download.suggested_filename == f"route_sheet-2031-03-04-v1-bus{roomy.bus_id}.csv"
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    numbers = {row[3] for row in rows[1:]}
    moved = PlannedOrder.objects.filter(stop=stop).select_related("order_delivery__order")
    assert {p.order_delivery.order.number for p in moved} <= numbers
    assert {row[0] for row in rows[1:]} == {str(roomy.bus)}
    assert len(rows) - 1 == PlannedOrder.objects.filter(stop__route=roomy).count()
    export = ManifestExport.objects.get()
    assert (export.user, export.kind, export.file_format, export.bus_id) == (
        ops_user,
        "route_sheet",
        "csv",
        roomy.bus_id,
    )
