"""Planning a delivery date's bus routes: orders → stops → solver → a new plan version.

``route_plan`` is the one entry point (the Celery task and the ops button call it). It:
1. takes the date's lock (``delivery.routing.locks``), or returns at once when a run holds it;
2. reads the booked, non-cancelled orders of the date and the buses working that weekday, and
   returns early when nothing changed since the current plan (``only_if_changed``: the beat);
3. places each address (``ROUTING_GEOCODER``), groups orders to one building into one stop,
   keeps the current plan's *locked* routes as they are, and solves the rest (PyVRP);
4. writes version n+1 — routes, stops with ETAs, and every order either on a stop or not placed
   with its reason — in **one transaction at the end**. Until then the previous version is
   untouched, so a worker killed mid-run changes nothing, and the run can simply start again.
Progress (stage, %) is committed on the ``PlanRun`` row as it goes, for the ops screen.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from delivery.models import OrderDelivery, Weekday
from delivery.routing.geocoding import (
    COORDINATES,
    AddressQuery,
    GeoPoint,
    address_key,
    geocoder_get,
)
from delivery.routing.locks import planning_lock
from delivery.routing.models import (
    Bus,
    PlannedOrder,
    PlanRun,
    PlanTrigger,
    Route,
    RoutePlan,
    RouteStop,
)
from delivery.routing.reasons import note
from delivery.routing.selectors import route_plan_current
from delivery.routing.solver import StopIn, TravelModel, VehicleIn, routes_solve

logger = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")
SOLVER_NAME = "pyvrp"


# --- inputs -------------------------------------------------------------------------------------
@dataclass
class OrderIn:
    order_delivery_id: int
    baskets: int
    key: str | None  # None: no shipping address at all
    line: str
    postcode: str
    city: str
    district_latitude: float | None
    district_longitude: float | None


@dataclass
class StopGroup:
    key: str
    address_key: str
    orders: list[OrderIn]
    point: GeoPoint
    line: str
    postcode: str
    city: str

    @property
    def baskets(self) -> int:
        return sum(order.baskets for order in self.orders)


@dataclass
class PlanInputs:
    orders: list[OrderIn]
    buses: list[Bus]
    skipped_buses: list[dict] = field(default_factory=list)  # plan notes (reasons.note)


def travel_model() -> TravelModel:
    return TravelModel(
        speed_kmh=settings.ROUTING_SPEED_KMH, detour_factor=settings.ROUTING_DETOUR_FACTOR
    )


# Minutes at a stop for each basket after the first (carried up, handed over). Read with a
# default: the settings module (not this app's) does not declare it from the environment yet.
SERVICE_EXTRA_BASKET_MINUTES = 0.4


def service_seconds(*, baskets: int) -> int:
    """Time spent at a stop: ``ROUTING_SERVICE_MINUTES`` for the first basket and
    ``ROUTING_SERVICE_EXTRA_BASKET_MINUTES`` (0.4) for each other one: with 2 minutes, a stop
    of 1 basket takes 2 min and one of 6 baskets 4 min."""
    extra = getattr(settings, "ROUTING_SERVICE_EXTRA_BASKET_MINUTES", SERVICE_EXTRA_BASKET_MINUTES)
    minutes = settings.ROUTING_SERVICE_MINUTES + extra * (max(baskets, 1) - 1)
    return max(0, round(minutes * 60))


def seconds_at(delivery_date: date, seconds: int) -> datetime:
    """Seconds since midnight (wall clock, Paris) on the delivery date, as an aware datetime."""
    return datetime.combine(delivery_date, time(0), tzinfo=PARIS) + timedelta(seconds=seconds)


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def bus_departure_s(bus: Bus) -> int:
    return _seconds(bus.shift_start) + bus.depot.loading_minutes * 60


def plan_orders_queryset(*, delivery_date: date):
    """The date's orders to deliver: booked, and the Oscar order not cancelled."""
    return (
        OrderDelivery.objects.booked()
        .filter(delivery_date=delivery_date)
        .exclude(order__status__in=settings.DELIVERY_RELEASE_ORDER_STATUSES)
        .select_related("order__shipping_address", "district")
        .order_by("pk")
    )


def plan_inputs_load(*, delivery_date: date) -> PlanInputs:
    orders = []
    for delivery in plan_orders_queryset(delivery_date=delivery_date):
        address = delivery.order.shipping_address
        district = delivery.district
        line = ""
        if address is not None:
            line = " ".join(part for part in (address.line1, address.line2) if part).strip()
        orders.append(
            OrderIn(
                order_delivery_id=delivery.pk,
                baskets=delivery.baskets,
                key=(
                    address_key(line=address.line1, postcode=address.postcode)
                    if address is not None and (address.line1 or "").strip()
                    else None
                ),
                line=line,
                postcode=address.postcode if address is not None else "",
                city=address.line4 if address is not None else "",
                district_latitude=float(district.latitude)
                if district.latitude is not None
                else None,
                district_longitude=(
                    float(district.longitude) if district.longitude is not None else None
                ),
            )
        )
    weekday = delivery_date.weekday()
    buses: list[Bus] = []
    skipped: list[dict] = []
    for bus in Bus.objects.filter(is_active=True).select_related("depot").order_by("pk"):
        if not bus.works_on(weekday):
            continue
        if bus.capacity <= 0:
            skipped.append(note("bus_zero_capacity", bus=str(bus)))
            continue
        if bus_departure_s(bus) >= _seconds(bus.shift_end):
            skipped.append(note("bus_loading_whole_shift", bus=str(bus)))
            continue
        buses.append(bus)
    return PlanInputs(orders=orders, buses=buses, skipped_buses=skipped)


def plan_fingerprint(*, inputs: PlanInputs) -> str:
    """What a plan depends on: orders (baskets, address) and the day's fleet."""
    payload = {
        "orders": [
            [o.order_delivery_id, o.baskets, o.key, o.district_latitude, o.district_longitude]
            for o in inputs.orders
        ],
        "buses": [
            [
                b.pk,
                b.capacity,
                str(b.shift_start),
                str(b.shift_end),
                str(b.depot.latitude),
                str(b.depot.longitude),
                b.depot.loading_minutes,
            ]
            for b in inputs.buses
        ],
        "geocoder": settings.ROUTING_GEOCODER,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# --- the run ------------------------------------------------------------------------------------
def _progress(run: PlanRun, *, stage: str, percent: int) -> None:
    # Committed at once (runs hold no transaction open): the ops screen polls it.
    run.stage, run.percent = stage, percent
    PlanRun.objects.filter(pk=run.pk).update(
        stage=stage, percent=percent, updated_at=timezone.now()
    )


def route_plan(
    *,
    delivery_date: date,
    trigger: str = PlanTrigger.OPS,
    requested_by_id: int | None = None,
    run_id: int | None = None,
    only_if_changed: bool = False,
    seconds: float | None = None,
) -> PlanRun | None:
    """Plan ``delivery_date`` once more (see the module docstring). Returns the run row, or None
    when a run without a row was not needed (busy, or nothing changed and ``only_if_changed``).
    """
    run = PlanRun.objects.get(pk=run_id) if run_id is not None else None
    with planning_lock(delivery_date=delivery_date) as acquired:
        if not acquired:
            if run is not None and run.status == PlanRun.Status.QUEUED:
                PlanRun.objects.filter(pk=run.pk).update(
                    status=PlanRun.Status.BUSY, finished_at=timezone.now()
                )
                run.refresh_from_db()
            return run
        # Holding the lock, nobody else runs: a RUNNING row is a worker that died mid-run.
        PlanRun.objects.filter(delivery_date=delivery_date, status=PlanRun.Status.RUNNING).update(
            status=PlanRun.Status.INTERRUPTED, finished_at=timezone.now()
        )
        if run is not None and run.status not in (
            PlanRun.Status.QUEUED,
            PlanRun.Status.INTERRUPTED,
        ):
            return run  # a redelivered task whose run already ended: nothing to do
        inputs = plan_inputs_load(delivery_date=delivery_date)
        fingerprint = plan_fingerprint(inputs=inputs)
        current = route_plan_current(delivery_date=delivery_date)
        if only_if_changed and current is not None and current.fingerprint == fingerprint:
            if run is not None:
                PlanRun.objects.filter(pk=run.pk).update(
                    status=PlanRun.Status.UNCHANGED, percent=100, finished_at=timezone.now()
                )
                run.refresh_from_db()
            return run
        if run is None:
            run = PlanRun.objects.create(
                delivery_date=delivery_date, trigger=trigger, requested_by_id=requested_by_id
            )
        PlanRun.objects.filter(pk=run.pk).update(
            status=PlanRun.Status.RUNNING,
            started_at=timezone.now(),
            stage="loading",
            percent=5,
            error="",
            finished_at=None,
        )
        try:
            plan = _plan_build(
                run=run,
                delivery_date=delivery_date,
                inputs=inputs,
                fingerprint=fingerprint,
                current=current,
                trigger=trigger,
                requested_by_id=requested_by_id,
                seconds=settings.ROUTING_SOLVER_SECONDS if seconds is None else seconds,
            )
        except Exception as exc:
            logger.exception("Planning %s failed", delivery_date)
            PlanRun.objects.filter(pk=run.pk).update(
                status=PlanRun.Status.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
            )
            raise
        PlanRun.objects.filter(pk=run.pk).update(
            status=PlanRun.Status.DONE,
            stage="done",
            percent=100,
            plan=plan,
            finished_at=timezone.now(),
        )
        run.refresh_from_db()
        return run


def _orders_grouped(
    *, orders: list[OrderIn], points: dict[str, GeoPoint | None], max_capacity: int
) -> tuple[list[StopGroup], list[OrderIn]]:
    """Orders to one building make one stop; a building with more baskets than the largest bus
    is split into stops that each fit one (first fit, biggest orders first)."""
    by_key: dict[str, list[OrderIn]] = defaultdict(list)
    unplaced: list[OrderIn] = []
    for order in orders:
        if order.key is None or points.get(order.key) is None:
            unplaced.append(order)
        else:
            by_key[order.key].append(order)
    groups: list[StopGroup] = []
    for key, members in by_key.items():
        chunks: list[list[OrderIn]] = []
        for order in sorted(members, key=lambda o: (-o.baskets, o.order_delivery_id)):
            for chunk in chunks:
                if sum(o.baskets for o in chunk) + order.baskets <= max(max_capacity, 1):
                    chunk.append(order)
                    break
            else:
                chunks.append([order])
        for n, chunk in enumerate(chunks):
            first = min(chunk, key=lambda o: o.order_delivery_id)
            groups.append(
                StopGroup(
                    key=f"{key}#{n}",
                    address_key=key,
                    orders=sorted(chunk, key=lambda o: o.order_delivery_id),
                    point=points[key],
                    line=first.line,
                    postcode=first.postcode,
                    city=first.city,
                )
            )
    groups.sort(key=lambda g: g.key)
    return groups, unplaced


def _plan_build(
    *,
    run: PlanRun,
    delivery_date: date,
    inputs: PlanInputs,
    fingerprint: str,
    current: RoutePlan | None,
    trigger: str,
    requested_by_id: int | None,
    seconds: float,
) -> RoutePlan:
    notes = list(inputs.skipped_buses)
    unplaced: dict[int, tuple[str, dict]] = {}  # order_delivery_id → (reason, its parameters)
    orders_by_id = {order.order_delivery_id: order for order in inputs.orders}

    # Locked routes of the current plan are kept as they are, minus orders no longer booked.
    kept = _locked_routes_kept(current=current, inputs=inputs, notes=notes)
    kept_orders = {od_id for route in kept for stop in route["stops"] for od_id in stop["orders"]}
    kept_bus_ids = {route["bus"].pk for route in kept}
    to_place = [o for o in inputs.orders if o.order_delivery_id not in kept_orders]
    buses = [bus for bus in inputs.buses if bus.pk not in kept_bus_ids]

    _progress(run, stage="geocoding", percent=10)
    queries = {
        order.key: AddressQuery(
            key=order.key,
            line=order.line,
            postcode=order.postcode,
            city=order.city,
            district_latitude=order.district_latitude,
            district_longitude=order.district_longitude,
        )
        for order in to_place
        if order.key is not None
    }
    points = geocoder_get().geocode_many(list(queries.values())) if queries else {}
    max_capacity = max((bus.capacity for bus in buses), default=0)
    groups, no_point = _orders_grouped(orders=to_place, points=points, max_capacity=max_capacity)
    for order in no_point:
        unplaced[order.order_delivery_id] = (
            PlannedOrder.Reason.NO_COORDINATES,
            {"cause": "no_address" if order.key is None else "not_found"},
        )

    _progress(run, stage="solving", percent=30)
    previous_bus: dict[str, int] = {}
    if current is not None:
        for key, bus_id in PlannedOrder.objects.filter(
            plan=current, stop__isnull=False
        ).values_list("stop__address_key", "stop__route__bus_id"):
            previous_bus[f"{key}#0"] = bus_id
    result = routes_solve(
        stops=[
            StopIn(
                key=group.key,
                latitude=group.point.latitude,
                longitude=group.point.longitude,
                demand=group.baskets,
                service_s=service_seconds(baskets=group.baskets),
            )
            for group in groups
        ],
        vehicles=[
            VehicleIn(
                key=bus.pk,
                capacity=bus.capacity,
                depot_latitude=float(bus.depot.latitude),
                depot_longitude=float(bus.depot.longitude),
                start_s=bus_departure_s(bus),
                end_s=_seconds(bus.shift_end),
            )
            for bus in buses
        ],
        travel=travel_model(),
        seconds=seconds,
        seed=settings.ROUTING_SOLVER_SEED,
        previous=previous_bus,
        on_progress=lambda share: _progress(run, stage="solving", percent=30 + int(60 * share)),
    )
    groups_by_key = {group.key: group for group in groups}
    # Parameters of each reason's sentence (worded when shown: delivery.routing.reasons).
    weekday = int(Weekday(delivery_date.weekday()))
    fleet = {
        "demand": sum(g.baskets for g in groups),
        "capacity": sum(bus.capacity for bus in buses),
    }
    for key, reason in result.dropped.items():
        group = groups_by_key[key]
        params: dict = {}
        if reason == "no_bus":
            params = {"weekday": weekday}
        elif reason == "too_large":
            params = {"baskets": group.baskets, "max": max_capacity}
        elif reason == "fleet_full":
            params = fleet
        for order in group.orders:
            unplaced[order.order_delivery_id] = (reason, params)
    if not buses and not kept and inputs.orders:
        notes.append(note("no_bus", weekday=weekday))

    _progress(run, stage="saving", percent=95)
    buses_by_id = {bus.pk: bus for bus in inputs.buses}
    with transaction.atomic():
        version = (
            RoutePlan.objects.filter(delivery_date=delivery_date).aggregate(v=Max("version"))["v"]
            or 0
        ) + 1
        plan = RoutePlan.objects.create(
            delivery_date=delivery_date,
            version=version,
            trigger=trigger,
            created_by_id=requested_by_id,
            fingerprint=fingerprint,
            solver=SOLVER_NAME,
            solve_seconds=round(result.seconds, 3),
            notes=notes,
        )
        planned: list[PlannedOrder] = []
        total = 0
        for route_out in result.routes:
            bus = buses_by_id[route_out.vehicle_key]
            route = Route.objects.create(
                plan=plan,
                bus=bus,
                capacity=bus.capacity,
                load=route_out.load,
                distance_m=route_out.distance_m,
                departs_at=seconds_at(delivery_date, route_out.depart_s),
                returns_at=seconds_at(delivery_date, route_out.return_s),
                shift_end_at=seconds_at(delivery_date, _seconds(bus.shift_end)),
            )
            total += route_out.distance_m
            for sequence, (key, eta) in enumerate(
                zip(route_out.stop_keys, route_out.etas_s, strict=True), start=1
            ):
                group = groups_by_key[key]
                stop = RouteStop.objects.create(
                    route=route,
                    sequence=sequence,
                    address_key=group.address_key,
                    address=group.line[:255],
                    postcode=group.postcode,
                    city=group.city[:128],
                    latitude=Decimal(str(group.point.latitude)).quantize(COORDINATES),
                    longitude=Decimal(str(group.point.longitude)).quantize(COORDINATES),
                    location_source=group.point.source,
                    baskets=group.baskets,
                    service_seconds=service_seconds(baskets=group.baskets),
                    eta=seconds_at(delivery_date, eta),
                )
                planned.extend(
                    PlannedOrder(
                        plan=plan,
                        order_delivery_id=o.order_delivery_id,
                        stop=stop,
                        baskets=o.baskets,
                    )
                    for o in group.orders
                )
        total += _locked_routes_write(plan=plan, kept=kept, planned=planned)
        placed = {p.order_delivery_id for p in planned}
        for od_id, order in orders_by_id.items():
            if od_id in placed:
                continue
            reason, params = unplaced.get(
                od_id,
                # Unreachable by construction; kept so an order is never silently dropped.
                (PlannedOrder.Reason.NO_TIME_LEFT, {"cause": "solver"}),
            )
            planned.append(
                PlannedOrder(
                    plan=plan,
                    order_delivery_id=od_id,
                    baskets=order.baskets,
                    reason=reason,
                    params=params,
                )
            )
        PlannedOrder.objects.bulk_create(planned, batch_size=1000)
        plan.total_distance_m = total
        plan.save(update_fields=["total_distance_m"])
    return plan


def _locked_routes_kept(
    *, current: RoutePlan | None, inputs: PlanInputs, notes: list[dict]
) -> list[dict]:
    if current is None:
        return []
    booked = {order.order_delivery_id for order in inputs.orders}
    fleet = {bus.pk: bus for bus in inputs.buses}
    kept = []
    for route in current.routes.filter(locked=True).select_related("bus"):
        if route.bus_id not in fleet:
            notes.append(note("locked_route_dropped", bus=str(route.bus)))
            continue
        stops = []
        for stop in route.stops.order_by("sequence").prefetch_related("orders"):
            orders = [
                p.order_delivery_id for p in stop.orders.all() if p.order_delivery_id in booked
            ]
            if orders:
                stops.append({"stop": stop, "orders": orders})
        kept.append({"route": route, "bus": fleet[route.bus_id], "stops": stops})
    return kept


def _locked_routes_write(*, plan: RoutePlan, kept: list[dict], planned: list) -> int:
    """Copy the kept locked routes into the new plan; their ETAs are recomputed (a cancelled
    order may have removed a stop). Returns their total distance."""
    from delivery.routing.services.adjust import route_metrics_refresh

    baskets = {}
    total = 0
    for item in kept:
        old = item["route"]
        route = Route.objects.create(
            plan=plan,
            bus=item["bus"],
            capacity=old.capacity,
            load=0,
            locked=True,
            shift_end_at=old.shift_end_at,
        )
        for sequence, entry in enumerate(item["stops"], start=1):
            stop = entry["stop"]
            if not baskets:
                baskets.update(
                    OrderDelivery.objects.filter(
                        pk__in=[o for k in kept for s in k["stops"] for o in s["orders"]]
                    ).values_list("pk", "baskets")
                )
            new = RouteStop.objects.create(
                route=route,
                sequence=sequence,
                address_key=stop.address_key,
                address=stop.address,
                postcode=stop.postcode,
                city=stop.city,
                latitude=stop.latitude,
                longitude=stop.longitude,
                location_source=stop.location_source,
                baskets=sum(baskets[o] for o in entry["orders"]),
                service_seconds=service_seconds(baskets=sum(baskets[o] for o in entry["orders"])),
            )
            planned.extend(
                PlannedOrder(plan=plan, order_delivery_id=o, stop=new, baskets=baskets[o])
                for o in entry["orders"]
            )
        route_metrics_refresh(route=route)
        total += route.distance_m
    return total


# --- the beat -----------------------------------------------------------------------------------
def route_plans_due(*, now: datetime | None = None) -> list[date]:
    """Delivery dates to plan now: cutoff passed, date not over, orders booked, and no plan yet
    or orders/fleet changed since the current one."""
    from delivery.calendar import delivery_cutoff, local_today

    now = now or timezone.now()
    days = (
        OrderDelivery.objects.booked()
        .filter(delivery_date__gte=local_today(now=now))
        .values_list("delivery_date", flat=True)
        .distinct()
        .order_by("delivery_date")
    )
    due = []
    for day in days:
        if delivery_cutoff(day=day) > now:
            continue
        current = route_plan_current(delivery_date=day)
        if current is None or current.fingerprint != plan_fingerprint(
            inputs=plan_inputs_load(delivery_date=day)
        ):
            due.append(day)
    return due
