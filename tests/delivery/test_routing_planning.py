"""Planning a delivery date: orders → stops → routes, versions, bad input, locks, killed workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from delivery.models import OrderDelivery
from delivery.routing.models import Bus, PlannedOrder, PlanRun, Route, RoutePlan, RouteStop
from delivery.routing.selectors import route_plan_diff
from delivery.routing.services.adjust import RouteChangeError, route_lock, route_stop_move
from delivery.routing.services.planning import route_plan, route_plans_due
from tests.conftest import race
from tests.delivery.factories import DistrictFactory
from tests.delivery.routing_factories import BusFactory, DepotFactory, order_at

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
TUESDAY = date(2031, 3, 4)  # a Tuesday, far from any real clock
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def district():
    # No postcode: placing test orders books nothing by itself (order_at books the date).
    return DistrictFactory(name="Paris 13e Arrondissement", insee_code="75113")


@pytest.fixture
def depot():
    return DepotFactory()


def assert_plan_consistent(plan: RoutePlan) -> None:
    """Every booked order of the date exactly once; no route over capacity or past its shift."""
    booked = set(
        OrderDelivery.objects.booked()
        .filter(delivery_date=plan.delivery_date)
        .values_list("pk", flat=True)
    )
    planned = list(
        PlannedOrder.objects.filter(plan=plan).values_list("order_delivery_id", flat=True)
    )
    assert sorted(planned) == sorted(booked)
    for route in plan.routes.all():
        stops = list(route.stops.order_by("sequence"))
        assert route.load == sum(stop.baskets for stop in stops) <= route.capacity
        assert all(stop.baskets == sum(o.baskets for o in stop.orders.all()) for stop in stops)
        etas = [stop.eta for stop in stops]
        assert etas == sorted(etas)
        assert route.returns_at <= route.shift_end_at


def test_a_date_is_planned_with_every_order_on_one_stop_and_one_building_one_stop(district, depot):
    # given two buses of 10 and 8 orders, two of them to the same building written differently
    BusFactory.create_batch(2, depot=depot, capacity=10)
    orders = [
        order_at(district, day=TUESDAY, line1=f"{n} rue de Tolbiac", baskets=1 + n % 3)
        for n in range(1, 7)
    ]
    same_a = order_at(district, day=TUESDAY, line1="12, Bd Blanqui", baskets=2)
    same_b = order_at(district, day=TUESDAY, line1="12 boulevard  Blanqui", baskets=1)
    # when the date is planned
    run = route_plan(delivery_date=TUESDAY, seconds=0.3)
    # then version 1 places every order once, within capacity and shifts
    plan = run.plan
    assert (run.status, run.percent, plan.version) == (PlanRun.Status.DONE, 100, 1)
    assert_plan_consistent(plan)
    assert not PlannedOrder.objects.filter(plan=plan, stop__isnull=True).exists()
    # and the two orders to 12 boulevard Blanqui are one stop of 3 baskets
    stop_a = PlannedOrder.objects.get(plan=plan, order_delivery=same_a).stop
    assert PlannedOrder.objects.get(plan=plan, order_delivery=same_b).stop == stop_a
    assert stop_a.baskets == 3
    assert RouteStop.objects.filter(route__plan=plan).count() == len(orders) + 1
    # and ETAs start after the depot's loading time (09:00 + 30 min)
    first = RouteStop.objects.filter(route__plan=plan).order_by("eta").first()
    assert first.eta > datetime(2031, 3, 4, 9, 30, tzinfo=PARIS)


def test_more_baskets_than_the_fleet_lists_the_orders_left_out_and_overloads_no_bus(
    district, depot
):
    # given one bus of 5 and 9 baskets to deliver
    BusFactory(depot=depot, capacity=5)
    for n in range(3):
        order_at(district, day=TUESDAY, line1=f"{n + 1} rue Nationale", baskets=3)
    # when planned
    plan = route_plan(delivery_date=TUESDAY, seconds=0.3).plan
    # then one order (3 baskets) rides, two are listed as not placed because the fleet is full
    assert_plan_consistent(plan)
    assert list(plan.routes.values_list("load", flat=True)) == [3]
    unplaced = PlannedOrder.objects.filter(plan=plan, stop__isnull=True)
    assert list(unplaced.values_list("reason", flat=True)) == ["fleet_full", "fleet_full"]
    detail = unplaced.first().detail_text
    assert "9" in detail
    assert "5" in detail


def test_bad_input_is_reported_order_by_order_never_a_crash(district, depot):
    # given: no shipping address, an order bigger than any bus, and buses that cannot work
    Bus.objects.filter(pk=BusFactory(depot=depot, capacity=4).pk)
    Bus.objects.filter(pk=BusFactory(depot=depot, name="Zéro").pk).update(capacity=0)
    fine = order_at(district, day=TUESDAY, line1="3 rue Watt", baskets=2)
    big = order_at(district, day=TUESDAY, line1="5 rue Watt", baskets=9)
    homeless = order_at(district, day=TUESDAY, line1="7 rue Watt", baskets=1)
    homeless.order.shipping_address = None
    homeless.order.save()
    # when planned
    plan = route_plan(delivery_date=TUESDAY, seconds=0.2).plan
    # then each order is placed or has its reason, and the zero-capacity bus is noted
    assert_plan_consistent(plan)
    reasons = dict(PlannedOrder.objects.filter(plan=plan).values_list("order_delivery", "reason"))
    assert reasons == {fine.pk: "", big.pk: "too_large", homeless.pk: "no_coordinates"}
    assert any("Zéro" in note for note in plan.notes_text)


def test_no_bus_that_weekday_and_a_depot_too_far(district):
    # given a Monday-only bus, one order on Tuesday
    BusFactory(weekdays=[0])
    order = order_at(district, day=TUESDAY, line1="1 place d'Italie")
    # when planned, then the order is not placed: no bus works on Tuesday
    plan = route_plan(delivery_date=TUESDAY, seconds=0.2).plan
    assert PlannedOrder.objects.get(plan=plan).reason == "no_bus"
    assert plan.routes.count() == 0
    # given a Tuesday bus whose depot is in Marseille with a 2-hour shift
    from datetime import time as clock

    BusFactory(
        depot=DepotFactory(name="Marseille", latitude="43.296500", longitude="5.369800"),
        shift_start=clock(9),
        shift_end=clock(11),
    )
    # when re-planned, then it is too far for any shift
    plan = route_plan(delivery_date=TUESDAY, seconds=0.2).plan
    assert plan.version == 2
    assert PlannedOrder.objects.get(plan=plan, order_delivery=order).reason == "too_far"


def test_replanning_keeps_locked_routes_and_shows_what_moved(district, depot):
    # given a plan of two buses with one route locked
    BusFactory.create_batch(2, depot=depot, capacity=6)
    orders = [
        order_at(district, day=TUESDAY, line1=f"{n} rue du Chevaleret", baskets=2)
        for n in range(1, 6)
    ]
    first = route_plan(delivery_date=TUESDAY, seconds=0.3).plan
    locked = first.routes.order_by("pk").first()
    locked_orders = set(
        PlannedOrder.objects.filter(stop__route=locked).values_list("order_delivery", flat=True)
    )
    route_lock(route_id=locked.pk)
    # when one order of the locked route is cancelled, one order is added, and it is re-planned
    gone = OrderDelivery.objects.get(pk=sorted(locked_orders)[0])
    gone.status = OrderDelivery.Status.RELEASED
    gone.save()
    new = order_at(district, day=TUESDAY, line1="40 rue du Chevaleret", baskets=1)
    second = route_plan(delivery_date=TUESDAY, seconds=0.3).plan
    # then version 2 keeps the locked route's bus and its other orders, in the same order
    assert second.version == 2
    assert_plan_consistent(second)
    kept = second.routes.get(bus=locked.bus)
    assert kept.locked
    assert set(
        PlannedOrder.objects.filter(stop__route=kept).values_list("order_delivery", flat=True)
    ) == locked_orders - {gone.pk}
    # and the diff names the added and the removed order
    diff = route_plan_diff(plan_id=second.pk)
    assert diff.previous_version == 1
    assert [row["number"] for row in diff.added] == [str(new.order.number)]
    assert [row["number"] for row in diff.removed] == [str(gone.order.number)]
    # and version 1 is kept as it was
    assert PlannedOrder.objects.filter(plan=first, stop__isnull=False).count() == len(orders)


def test_the_beat_plans_dates_past_their_cutoff_once(district, depot):
    # given an order on a Tuesday whose cutoff (Sunday 12:00) has passed
    BusFactory(depot=depot)
    order_at(district, day=TUESDAY, line1="1 rue Watt")
    sunday_afternoon = datetime(2031, 3, 2, 13, 0, tzinfo=PARIS)
    assert route_plans_due(now=datetime(2031, 3, 2, 11, 0, tzinfo=PARIS)) == []
    assert route_plans_due(now=sunday_afternoon) == [TUESDAY]
    # when it is planned, then it is no longer due, and an unchanged re-run writes nothing
    route_plan(delivery_date=TUESDAY, trigger="beat", only_if_changed=True, seconds=0.2)
    assert route_plans_due(now=sunday_afternoon) == []
    assert route_plan(delivery_date=TUESDAY, only_if_changed=True, seconds=0.2) is None
    assert RoutePlan.objects.count() == 1
    # when an order comes in late, the date is due again
    order_at(district, day=TUESDAY, line1="2 rue Watt")
    assert route_plans_due(now=sunday_afternoon) == [TUESDAY]


def test_moving_a_stop_rechecks_capacity_and_is_logged(district, depot):
    # given two buses of 4, full-ish
    bus_a, bus_b = BusFactory.create_batch(2, depot=depot, capacity=4)
    for n in range(1, 5):
        order_at(district, day=TUESDAY, line1=f"{n} avenue d'Italie", baskets=2)
    plan = route_plan(delivery_date=TUESDAY, seconds=0.3).plan
    route_a, route_b = plan.routes.get(bus=bus_a), plan.routes.get(bus=bus_b)
    assert (route_a.load, route_b.load) == (4, 4)
    stop = route_a.stops.first()
    # when ops move a stop to the full bus, then it is refused and nothing changed
    with pytest.raises(RouteChangeError):
        route_stop_move(stop_id=stop.pk, to_route_id=route_b.pk)
    assert RouteStop.objects.get(pk=stop.pk).route_id == route_a.pk
    # given room on bus B (bus capacity raised, the plan's copy too)
    Route.objects.filter(pk=route_b.pk).update(capacity=6)
    # when moved again, then it rides on B, loads and ETAs follow, and the move is logged
    route_stop_move(stop_id=stop.pk, to_route_id=route_b.pk)
    route_a.refresh_from_db()
    route_b.refresh_from_db()
    assert (route_a.load, route_b.load) == (2, 6)
    assert sorted(route_b.stops.values_list("sequence", flat=True)) == [1, 2, 3]
    assert sorted(route_a.stops.values_list("sequence", flat=True)) == [1]
    assert plan.moves.get().to_bus == bus_b
    assert_plan_consistent(plan)
    # and a locked route refuses moves
    route_lock(route_id=route_b.pk)
    with pytest.raises(RouteChangeError):
        route_stop_move(stop_id=route_a.stops.first().pk, to_route_id=route_b.pk)


@pytest.mark.django_db(transaction=True)
def test_two_runs_racing_on_one_date_write_one_plan(district, depot):
    # given a date to plan
    BusFactory(depot=depot)
    for n in range(1, 6):
        order_at(district, day=TUESDAY, line1=f"{n} rue Watt")
    # when two workers plan it at the same moment
    results = race(2, route_plan, delivery_date=TUESDAY, seconds=1.0)
    # then one ran and wrote version 1; the other returned at once without writing
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(r is None for r in results) == [False, True]
    assert list(RoutePlan.objects.values_list("version", flat=True)) == [1]
    assert PlanRun.objects.get().status == PlanRun.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_leaves_the_previous_plan_and_a_rerun_completes(district, depot):
    # given version 1 of a date
    BusFactory.create_batch(2, depot=depot, capacity=10)
    for n in range(1, 9):
        order_at(district, day=TUESDAY, line1=f"{n} rue de la Glacière", baskets=2)
    v1 = route_plan(delivery_date=TUESDAY, seconds=0.2).plan
    v1_rows = sorted(PlannedOrder.objects.filter(plan=v1).values_list("order_delivery", "stop"))
    order_at(district, day=TUESDAY, line1="99 rue de la Glacière", baskets=1)
    # when a planning worker (another process) is SIGKILLed while solving
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "essentiels.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }
    script = (
        "import django; django.setup()\n"
        "from datetime import date\n"
        "from delivery.routing.services.planning import route_plan\n"
        f"route_plan(delivery_date=date.fromisoformat('{TUESDAY}'), seconds=60)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while not PlanRun.objects.filter(stage="solving", status=PlanRun.Status.RUNNING).exists():
            assert worker.poll() is None, "the worker ended before solving"
            assert time.monotonic() < deadline, "the worker never started solving"
            time.sleep(0.1)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    # then version 1 is the current plan, exactly as it was; the run is left RUNNING
    assert list(RoutePlan.objects.values_list("version", flat=True)) == [1]
    assert sorted(PlannedOrder.objects.filter(plan=v1).values_list("order_delivery", "stop")) == (
        v1_rows
    )
    assert PlanRun.objects.filter(status=PlanRun.Status.RUNNING).count() == 1
    # when planned again, then the lock is free, version 2 is written with the new order, and
    # the dead run is marked interrupted
    run = route_plan(delivery_date=TUESDAY, seconds=0.3)
    assert run.plan.version == 2
    assert_plan_consistent(run.plan)
    statuses = PlanRun.objects.values("status").annotate(n=Count("pk"))
    assert {row["status"]: row["n"] for row in statuses} == {
        PlanRun.Status.DONE: 2,
        PlanRun.Status.INTERRUPTED: 1,
    }


def test_reasons_are_stored_as_codes_and_worded_in_the_readers_language(district, depot):
    # given one bus of 5 baskets and 9 baskets to deliver, planned while French is active
    from django.utils import translation

    BusFactory(depot=depot, capacity=5)
    for n in range(3):
        order_at(district, day=TUESDAY, line1=f"{n + 1} rue Nationale", baskets=3)
    Bus.objects.filter(pk=BusFactory(depot=depot, name="Zéro", plate="").pk).update(capacity=0)
    with translation.override("fr"):
        plan = route_plan(delivery_date=TUESDAY, seconds=0.2).plan
    # then the database keeps codes and numbers, no sentence in any language
    unplaced = PlannedOrder.objects.filter(plan=plan, stop__isnull=True).first()
    assert (unplaced.reason, unplaced.params, unplaced.detail) == (
        "fleet_full",
        {"demand": 9, "capacity": 5},
        "",
    )
    assert plan.notes == [{"code": "bus_zero_capacity", "params": {"bus": "Zéro"}}]
    # and each reader gets the sentence in their own language
    with translation.override("en"):
        assert unplaced.detail_text == "9 baskets to deliver, 5 places in the day's buses."
        assert plan.notes_text == ["Zéro skipped: its capacity is zero."]
    with translation.override("fr"):
        assert unplaced.detail_text == "9 paniers à livrer, 5 places dans les bus du jour."
        assert plan.notes_text == ["Zéro ignoré : sa capacité est nulle."]


def test_time_at_a_stop_grows_with_its_baskets_and_etas_follow_it(district, depot, settings):
    # given 2 minutes for the first basket (0.4 for each other), one bus, a stop of 1 basket
    # and one of 6 baskets
    from delivery.routing.services.adjust import route_metrics_refresh
    from delivery.routing.services.planning import service_seconds

    settings.ROUTING_SERVICE_MINUTES = 2
    assert [service_seconds(baskets=n) for n in (1, 6)] == [120, 240]
    BusFactory(depot=depot, capacity=20)
    small = order_at(district, day=TUESDAY, line1="1 rue Watt", baskets=1)
    big = order_at(district, day=TUESDAY, line1="80 rue Watt", baskets=6)
    # when planned
    plan = route_plan(delivery_date=TUESDAY, seconds=0.2).plan
    # then each stop keeps its own time at the door
    by_order = {p.order_delivery_id: p.stop for p in PlannedOrder.objects.filter(plan=plan)}
    assert (by_order[small.pk].service_seconds, by_order[big.pk].service_seconds) == (120, 240)
    # and the second stop's ETA comes after the first stop's time at the door
    route = plan.routes.get()
    first, second = route.stops.order_by("sequence")
    assert (second.eta - first.eta).total_seconds() >= first.service_seconds
    # and recomputing the route (as a move does) finds the solver's ETAs to the second
    etas = [stop.eta for stop in route.stops.order_by("sequence")]
    returns_at = route.returns_at
    route_metrics_refresh(route=route)
    again = [stop.eta for stop in route.stops.order_by("sequence")]
    assert [abs((a - b).total_seconds()) for a, b in zip(etas, again, strict=True)] <= [2, 2]
    assert abs((route.returns_at - returns_at).total_seconds()) <= 3


@pytest.mark.slow
@hypothesis_settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    baskets=st.lists(st.integers(1, 7), min_size=0, max_size=8),
    fleet=st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 8), st.booleans()), min_size=0, max_size=3
    ),
    no_address=st.sets(st.integers(0, 7), max_size=2),
)
def test_any_date_plans_every_order_once_within_capacity_and_shifts(
    district, depot, baskets, fleet, no_address
):
    # given random orders (some without an address) and a random fleet: capacities from 0,
    # shifts from 0 to 8 hours, some buses not working that day; each example rolled back
    from datetime import time as clock

    from django.db import transaction

    with transaction.atomic():
        for capacity, hours, works in fleet:
            bus = BusFactory(
                depot=depot,
                weekdays=[TUESDAY.weekday()] if works else [0],
                shift_start=clock(9),
                shift_end=clock(min(23, 9 + hours), 0 if hours else 1),
            )
            Bus.objects.filter(pk=bus.pk).update(capacity=capacity)
        for n, count in enumerate(baskets):
            order = order_at(district, day=TUESDAY, line1=f"{n % 5 + 1} rue Watt", baskets=count)
            if n in no_address:
                order.order.shipping_address = None
                order.order.save()
        # when the date is planned
        run = route_plan(delivery_date=TUESDAY, seconds=0.05)
        # then every booked order is exactly once in the plan, placed or with a known reason
        assert run.status == PlanRun.Status.DONE
        assert_plan_consistent(run.plan)
        reasons = set(PlannedOrder.objects.filter(plan=run.plan).values_list("reason", flat=True))
        assert reasons <= {"", *PlannedOrder.Reason.values}
        unplaced = PlannedOrder.objects.filter(plan=run.plan, stop__isnull=True)
        assert all(p.detail_text for p in unplaced)
        transaction.set_rollback(True)
