"""Ops' changes to a plan: move a stop to another bus (capacity re-checked), lock a route.

They edit the date's *current* plan in place, under the same per-date lock as planning runs,
so a manual move can never interleave with a run writing the next version.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from delivery.routing.geocoding import haversine_m
from delivery.routing.locks import planning_lock
from delivery.routing.models import Route, RoutePlan, RouteStop, RouteStopMove


class RouteChangeError(Exception):
    """The change was refused; the message says why, in the user's language."""


def _seconds(value) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _leg(a: tuple[float, float], b: tuple[float, float]) -> tuple[int, int]:
    from delivery.routing.services.planning import travel_model

    travel = travel_model()
    metres = haversine_m(a[0], a[1], b[0], b[1]) * travel.detour_factor
    return round(metres), round(metres / travel.metres_per_second)


def route_metrics_refresh(*, route: Route) -> Route:
    """Recompute a route's load, distance, departure, ETAs and return from its stops, in
    sequence, with the planning's travel model."""
    from delivery.routing.services.planning import bus_departure_s, seconds_at

    bus = route.bus
    depot = (float(bus.depot.latitude), float(bus.depot.longitude))
    day = route.plan.delivery_date
    clock = bus_departure_s(bus)
    here, metres, load = depot, 0, 0
    stops = list(route.stops.order_by("sequence"))
    for stop in stops:
        point = (float(stop.latitude), float(stop.longitude))
        leg_m, leg_s = _leg(here, point)
        clock += leg_s
        metres += leg_m
        stop.eta = seconds_at(day, clock)
        clock += stop.service_seconds
        load += stop.baskets
        here = point
    leg_m, leg_s = _leg(here, depot)
    if stops:
        clock += leg_s
        metres += leg_m
    RouteStop.objects.bulk_update(stops, ["eta"])
    route.load = load
    route.distance_m = metres
    route.departs_at = seconds_at(day, bus_departure_s(bus))
    route.returns_at = seconds_at(day, clock)
    route.shift_end_at = seconds_at(day, _seconds(bus.shift_end))
    route.save(update_fields=["load", "distance_m", "departs_at", "returns_at", "shift_end_at"])
    return route


def _is_current(plan: RoutePlan) -> bool:
    return not RoutePlan.objects.filter(
        delivery_date=plan.delivery_date, version__gt=plan.version
    ).exists()


def _plan_distance_refresh(plan: RoutePlan) -> None:
    plan.total_distance_m = sum(plan.routes.values_list("distance_m", flat=True))
    plan.save(update_fields=["total_distance_m"])


def route_stop_move(*, stop_id: int, to_route_id: int, by_user_id: int | None = None) -> Route:
    """Move one stop (all its orders) to another bus of the same plan, at the place in its
    sequence that adds the least distance. Refused (RouteChangeError) when the other bus has no
    room, either route is locked, the plan is no longer current, or a planning run is on."""
    stop = RouteStop.objects.select_related("route__plan").get(pk=stop_id)
    plan = stop.route.plan
    with planning_lock(delivery_date=plan.delivery_date) as acquired:
        if not acquired:
            raise RouteChangeError(_("A planning run is in progress for this date: try again."))
        with transaction.atomic():
            # Both routes locked in primary-key order (two ops moving stops both ways at once
            # cannot deadlock).
            ids = sorted({stop.route_id, to_route_id})
            routes = {
                r.pk: r
                for r in Route.objects.select_for_update()
                .filter(pk__in=ids)
                .select_related("bus__depot", "plan")
                .order_by("pk")
            }
            stop = RouteStop.objects.select_for_update().get(pk=stop_id)
            source, target = routes[stop.route_id], routes.get(to_route_id)
            if target is None or target.plan_id != source.plan_id:
                raise RouteChangeError(_("Choose a bus of the same plan."))
            if target.pk == source.pk:
                return target
            if not _is_current(source.plan):
                raise RouteChangeError(_("This plan has been replaced by a newer version."))
            if source.locked or target.locked:
                raise RouteChangeError(_("Unlock the route before moving its stops."))
            if target.load + stop.baskets > target.capacity:
                raise RouteChangeError(
                    _("%(bus)s has room for %(room)s more baskets; this stop has %(baskets)s.")
                    % {
                        "bus": target.bus,
                        "room": target.capacity - target.load,
                        "baskets": stop.baskets,
                    }
                )
            position = _cheapest_position(target=target, stop=stop)
            # Renumber without ever breaking the (route, sequence) unique constraint: the source
            # closes its gap upwards, the target opens one from the end.
            old_sequence = stop.sequence
            stop.route = target
            stop.sequence = 0  # free slot meanwhile (sequences start at 1)
            RouteStop.objects.filter(pk=stop.pk).update(route=target, sequence=0)
            for later in source.stops.filter(sequence__gt=old_sequence).order_by("sequence"):
                RouteStop.objects.filter(pk=later.pk).update(sequence=later.sequence - 1)
            for later in (
                target.stops.filter(sequence__gte=position)
                .exclude(pk=stop.pk)
                .order_by("-sequence")
            ):
                RouteStop.objects.filter(pk=later.pk).update(sequence=later.sequence + 1)
            RouteStop.objects.filter(pk=stop.pk).update(sequence=position)
            route_metrics_refresh(route=source)
            route_metrics_refresh(route=target)
            _plan_distance_refresh(source.plan)
            RouteStopMove.objects.create(
                plan=source.plan,
                address=stop.address,
                from_bus=source.bus,
                to_bus=target.bus,
                baskets=stop.baskets,
                moved_by_id=by_user_id,
            )
            return target


def _cheapest_position(*, target: Route, stop: RouteStop) -> int:
    depot = (float(target.bus.depot.latitude), float(target.bus.depot.longitude))
    points = [depot] + [
        (float(s.latitude), float(s.longitude)) for s in target.stops.order_by("sequence")
    ]
    points.append(depot)
    new = (float(stop.latitude), float(stop.longitude))
    best, best_cost = 1, None
    for i in range(len(points) - 1):
        cost = (
            _leg(points[i], new)[0]
            + _leg(new, points[i + 1])[0]
            - _leg(points[i], points[i + 1])[0]
        )
        if best_cost is None or cost < best_cost:
            best, best_cost = i + 1, cost
    return best


def route_lock(*, route_id: int, locked: bool = True) -> Route:
    """Lock (or unlock) a route: re-planning keeps a locked route as it is."""
    with transaction.atomic():
        route = Route.objects.select_for_update().get(pk=route_id)
        if route.locked != locked:
            route.locked = locked
            route.save(update_fields=["locked"])
        return route
