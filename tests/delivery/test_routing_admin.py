"""Ops screens and manifests: who may see and do what, moves and locks through the page,
exports in three formats that never run a formula."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from openpyxl import load_workbook
from oscar.test.factories import UserFactory

from delivery.routing.models import Bus, ManifestExport, PlanRun, RouteStop
from delivery.routing.services.planning import route_plan
from tests.delivery.factories import DistrictFactory
from tests.delivery.routing_factories import BusFactory, DepotFactory, order_at

pytestmark = pytest.mark.django_db
TUESDAY = date(2031, 3, 4)
HOSTILE = [
    '=HYPERLINK("http://evil.example","clic")',
    "+33 6 00 00 00 00",
    "-2+3",
    "@SUM(1)",
    "\tcaché",
]


@pytest.fixture
def ops_client(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Ops"))
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client):
    # Back-office staff: in admin, but not in the Ops group.
    client.force_login(UserFactory(is_staff=True))
    return client


@pytest.fixture
def planned():
    district = DistrictFactory(name="Paris 13e Arrondissement", insee_code="75113")
    depot = DepotFactory()
    BusFactory.create_batch(2, depot=depot, capacity=6)
    for n, hostile in enumerate(HOSTILE, start=1):
        order_at(district, day=TUESDAY, line1=f"{n} {hostile}", baskets=2, first_name=hostile)
    return route_plan(delivery_date=TUESDAY, seconds=0.3).plan


def date_url(day=TUESDAY) -> str:
    return reverse("admin:delivery_routeplan_date", args=[day.isoformat()])


def manifest_url(kind: str, fmt: str, **query) -> str:
    url = reverse("admin:delivery_routeplan_manifest", args=[TUESDAY.isoformat(), kind, fmt])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_ops_see_the_date_with_its_routes_map_and_orders_not_placed(ops_client, planned):
    response = ops_client.get(date_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body
    assert body.count("<polyline") == planned.routes.count()
    for route in planned.routes.all():
        assert str(route.bus) in body
    # the fleet holds 12 baskets for 10 asked: every order is on the page, on a stop
    assert not planned.orders.filter(stop__isnull=True).exists()
    for planned_order in planned.orders.select_related("order_delivery__order"):
        assert planned_order.order_delivery.order.number in body


def test_back_office_staff_outside_ops_see_and_export_nothing(staff_client, planned):
    assert staff_client.get(date_url()).status_code == 403
    assert staff_client.get(manifest_url("route_sheet", "csv")).status_code == 403
    assert (
        staff_client.post(
            reverse("admin:delivery_routeplan_replan", args=["2031-03-04"])
        ).status_code
        == 403
    )
    assert not ManifestExport.objects.exists()


def test_ops_replan_queues_a_run_after_commit(
    ops_client, planned, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = ops_client.post(reverse("admin:delivery_routeplan_replan", args=["2031-03-04"]))
    assert response.status_code == 302
    run = PlanRun.objects.get(status=PlanRun.Status.QUEUED)
    assert len(callbacks) == 1
    # the queued run, executed as the worker would, writes version 2
    done = route_plan(delivery_date=TUESDAY, run_id=run.pk, seconds=0.2)
    assert (done.status, done.plan.version) == (PlanRun.Status.DONE, 2)


def test_ops_move_a_stop_and_lock_a_route_from_the_page(ops_client, planned):
    # given 10 baskets on two buses of 6: one full route (6) and one with room (4)
    full, roomy = sorted(planned.routes.all(), key=lambda r: -r.load)
    assert (full.load, roomy.load) == (6, 4)
    stop = full.stops.order_by("sequence").first()
    move = reverse("admin:delivery_routeplan_move", args=[stop.pk])
    # when ops move a stop of the full bus to the other, then it moves
    assert ops_client.post(move, {"to_route": roomy.pk}).status_code == 302
    assert RouteStop.objects.get(pk=stop.pk).route_id == roomy.pk
    # when they move another stop onto the now-full bus, then it is refused and stays
    other = full.stops.order_by("sequence").first()
    url = reverse("admin:delivery_routeplan_move", args=[other.pk])
    response = ops_client.post(url, {"to_route": roomy.pk}, follow=True)
    assert RouteStop.objects.get(pk=other.pk).route_id == full.pk
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"
    # and a route is locked from the page
    ops_client.post(reverse("admin:delivery_routeplan_lock", args=[full.pk]), {"locked": "1"})
    full.refresh_from_db()
    assert full.locked


def test_a_bus_needs_a_capacity_above_zero_in_admin(ops_client):
    depot = DepotFactory()
    data = {
        "name": "Bus 1",
        "plate": "",
        "depot": depot.pk,
        "capacity": "0",
        "volume_litres": "",
        "max_weight_kg": "",
        "weekdays": ["1", "3"],
        "shift_start": "09:00",
        "shift_end": "08:00",
        "is_active": "on",
    }
    response = ops_client.post(reverse("admin:delivery_bus_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"capacity", "shift_end"}
    data.update(capacity="100", shift_end="18:00")
    assert ops_client.post(reverse("admin:delivery_bus_add"), data).status_code == 302
    assert Bus.objects.get().weekdays == [1, 3]


@pytest.mark.parametrize("kind", ["route_sheet", "loading_list", "picking_list"])
def test_manifests_in_three_formats_are_logged(ops_client, planned, kind):
    for fmt in ("csv", "xlsx", "pdf"):
        response = ops_client.get(manifest_url(kind, fmt))
        assert response.status_code == 200, fmt
        content = b"".join(response.streaming_content)
        assert content
        if fmt == "pdf":
            assert content.startswith(b"%PDF")
    bus = planned.routes.first().bus
    assert ops_client.get(manifest_url(kind, "csv", bus=bus.pk)).status_code == 200
    assert ManifestExport.objects.filter(kind=kind).count() == 4
    assert ManifestExport.objects.filter(bus=bus).count() == 1


def test_hostile_text_is_literal_in_csv_and_xlsx(ops_client, planned):
    # CSV: every cell that a spreadsheet would evaluate starts with a quote
    response = ops_client.get(manifest_url("route_sheet", "csv"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    names = {row[4] for row in rows[1:]}
    assert any(name.startswith("'=HYPERLINK(") for name in names)
    assert any(name.startswith("'\tcaché") for name in names)
    # XLSX: the same cells are text, none is a formula
    response = ops_client.get(manifest_url("route_sheet", "xlsx"))
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    values = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert values
    assert not [c for c in values if c.data_type == "f"]
    texts = [c.value for c in values if isinstance(c.value, str)]
    assert any(t.startswith("'=HYPERLINK") for t in texts)
    assert not [t for t in texts if t[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_a_date_without_a_plan_offers_to_plan_it_and_a_bad_date_is_a_404(ops_client):
    response = ops_client.get(date_url(date(2031, 3, 11)))
    assert response.status_code == 200
    assert reverse("admin:delivery_routeplan_replan", args=["2031-03-11"]) in (
        response.content.decode()
    )
    assert ops_client.get("/admin/delivery/routeplan/date/2031-02-30/").status_code == 404
    assert ops_client.get(manifest_url("route_sheet", "csv")).status_code == 404


def test_the_redelivered_task_of_a_finished_run_writes_nothing(planned):
    from delivery.tasks import route_plan_task

    run = PlanRun.objects.get()
    assert route_plan_task(delivery_date=TUESDAY.isoformat(), run_id=run.pk) == planned.pk
    assert planned.__class__.objects.count() == 1


def test_back_office_staff_can_neither_move_nor_lock(staff_client, planned):
    route = planned.routes.order_by("pk").first()
    other = planned.routes.exclude(pk=route.pk).first()
    stop = route.stops.first()
    move = reverse("admin:delivery_routeplan_move", args=[stop.pk])
    lock = reverse("admin:delivery_routeplan_lock", args=[route.pk])
    assert staff_client.post(move, {"to_route": other.pk}).status_code == 403
    assert staff_client.post(lock, {"locked": "1"}).status_code == 403
    assert staff_client.get(reverse("admin:delivery_bus_changelist")).status_code == 403
    route.refresh_from_db()
    assert not route.locked
    assert RouteStop.objects.get(pk=stop.pk).route_id == route.pk


def test_reasons_not_placed_show_in_the_language_of_the_page(ops_client):
    # given a plan made while French was active, with orders the single bus cannot take
    district = DistrictFactory(name="Paris 13e Arrondissement", insee_code="75113")
    BusFactory(depot=DepotFactory(), capacity=4)
    for n in range(1, 4):
        order_at(district, day=TUESDAY, line1=f"{n} rue Watt", baskets=3)
    route_plan(delivery_date=TUESDAY, seconds=0.2)
    # when ops read the page in French, then in English
    french = ops_client.get(date_url()).content.decode()
    english = ops_client.get("/en" + date_url()).content.decode()
    # then each says why in its own language
    assert "9 baskets to deliver, 4 places in the day&#x27;s buses." in english
    assert "9 paniers à livrer, 4 places dans les bus du jour." in french


SCREENS = [
    "admin:delivery_depot_changelist",
    "admin:delivery_bus_changelist",
    "admin:delivery_bus_add",
    "admin:delivery_routeplan_changelist",
    "admin:delivery_planrun_changelist",
    "admin:delivery_manifestexport_changelist",
]
EXPORTS = [
    (kind, fmt)
    for kind in ("route_sheet", "loading_list", "picking_list")
    for fmt in ("csv", "xlsx", "pdf")
]


def every_get(planned) -> list[str]:
    bus = planned.routes.first().bus
    return [
        *(reverse(name) for name in SCREENS),
        date_url(),
        reverse("admin:delivery_routeplan_date_pick") + "?day=2031-03-04",
        *(manifest_url(kind, fmt) for kind, fmt in EXPORTS),
        *(manifest_url(kind, fmt, bus=bus.pk) for kind, fmt in EXPORTS),
    ]


def every_post(planned) -> list[tuple[str, dict]]:
    route, other = planned.routes.order_by("pk")[:2]
    return [
        (reverse("admin:delivery_routeplan_replan", args=["2031-03-04"]), {}),
        (
            reverse("admin:delivery_routeplan_move", args=[route.stops.first().pk]),
            {"to_route": other.pk},
        ),
        (reverse("admin:delivery_routeplan_lock", args=[route.pk]), {"locked": "1"}),
    ]


def test_back_office_staff_are_refused_every_routes_screen_and_export(staff_client, planned):
    # given a plan; when staff outside Ops try every page, export and action
    refused = [url for url in every_get(planned) if staff_client.get(url).status_code != 403]
    refused += [
        u for u, data in every_post(planned) if staff_client.post(u, data).status_code != 403
    ]
    # then each is 403 and nothing was exported, queued, moved or locked
    assert refused == []
    assert not ManifestExport.objects.exists()
    assert not PlanRun.objects.exclude(status=PlanRun.Status.DONE).exists()
    assert not planned.moves.exists()
    assert not planned.routes.filter(locked=True).exists()


@pytest.mark.parametrize("who", ["ops", "superuser"])
def test_ops_and_superusers_open_every_routes_screen_and_export(client, planned, who):
    user = UserFactory(is_staff=True, is_superuser=who == "superuser")
    if who == "ops":
        user.groups.add(Group.objects.get(name="Ops"))
    client.force_login(user)
    pick = reverse("admin:delivery_routeplan_date_pick") + "?day=2031-03-04"
    codes = {url: client.get(url).status_code for url in every_get(planned) if url != pick}
    assert {url: code for url, code in codes.items() if code != 200} == {}
    assert client.get(pick)["Location"] == date_url()
    assert ManifestExport.objects.filter(user=user).count() == 2 * len(EXPORTS)


def test_hostile_text_is_literal_in_the_pdf(ops_client, planned):
    # PDF text is drawn, never evaluated: it shows the name as typed, without the quote that
    # CSV and XLSX cells get
    import base64
    import re
    import zlib

    response = ops_client.get(manifest_url("route_sheet", "pdf"))
    pdf = b"".join(response.streaming_content)
    # reportlab's page streams: /Filter [ /ASCII85Decode /FlateDecode ]
    streams = re.findall(rb"stream\r?\n(.*?)~>\s*endstream", pdf, flags=re.S)
    text = b"".join(zlib.decompress(base64.a85decode(s)) for s in streams)
    assert text
    assert rb"(=HYPERLINK\(" in text
    assert rb"(@SUM\(1\)" in text
    assert rb"('=HYPERLINK" not in text
