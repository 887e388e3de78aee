"""Reads for the ops screens and manifests: a date's plan summary, what moved between versions,
the map's geometry; and, for closing a shopper's account, the stops and cached locations that
are theirs alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, QuerySet

from delivery.routing.geocoding import address_key
from delivery.routing.models import (
    AddressLocation,
    PlannedOrder,
    PlanRun,
    Route,
    RoutePlan,
    RouteStop,
)


def route_plan_current(*, delivery_date: date) -> RoutePlan | None:
    return RoutePlan.objects.filter(delivery_date=delivery_date).order_by("-version").first()


def plan_run_latest(*, delivery_date: date) -> PlanRun | None:
    return (
        PlanRun.objects.filter(delivery_date=delivery_date).order_by("-created_at", "-pk").first()
    )


def plan_routes(*, plan_id: int) -> list[Route]:
    """Routes with their stops (in sequence) and counts, first and last ETA."""
    return list(
        Route.objects.filter(plan_id=plan_id)
        .select_related("bus__depot")
        .annotate(
            stop_count=Count("stops"),
            first_eta=Min("stops__eta"),
            last_eta=Max("stops__eta"),
        )
        .prefetch_related(
            Prefetch(
                "stops",
                queryset=RouteStop.objects.order_by("sequence").prefetch_related(
                    "orders__order_delivery__order"
                ),
            )
        )
        .order_by("bus__name", "pk")
    )


def plan_unplaced(*, plan_id: int) -> list[PlannedOrder]:
    return list(
        PlannedOrder.objects.filter(plan_id=plan_id, stop__isnull=True)
        .select_related("order_delivery__order", "order_delivery__district")
        .order_by("reason", "pk")
    )


@dataclass
class PlanDiff:
    previous_version: int | None
    moved: list[dict] = field(default_factory=list)
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.moved or self.added or self.removed)


def _where(plan: RoutePlan) -> dict[int, dict]:
    rows = PlannedOrder.objects.filter(plan=plan).values(
        "order_delivery_id", "order_delivery__order__number", "stop__route__bus__name", "reason"
    )
    return {
        row["order_delivery_id"]: {
            "number": row["order_delivery__order__number"],
            "bus": row["stop__route__bus__name"],
            "reason": row["reason"],
        }
        for row in rows
    }


def route_plan_diff(*, plan_id: int) -> PlanDiff:
    """Orders whose bus changed since the previous version (None: not placed), added, removed."""
    plan = RoutePlan.objects.get(pk=plan_id)
    previous = (
        RoutePlan.objects.filter(delivery_date=plan.delivery_date, version__lt=plan.version)
        .order_by("-version")
        .first()
    )
    diff = PlanDiff(previous_version=previous.version if previous else None)
    if previous is None:
        return diff
    before, after = _where(previous), _where(plan)
    for od_id, now in after.items():
        then = before.get(od_id)
        if then is None:
            diff.added.append(now)
        elif then["bus"] != now["bus"]:
            diff.moved.append({**now, "from_bus": then["bus"]})
    diff.removed = [then for od_id, then in before.items() if od_id not in after]
    return diff


PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
]


def plan_map(*, routes: list[Route], width: int = 900, height: int = 600) -> dict:
    """SVG geometry of the plan (depots, stops in sequence), projected from our own
    coordinates (equirectangular around the mean latitude): no external tiles."""
    import math

    points = []
    for route in routes:
        depot = route.bus.depot
        points.append((float(depot.latitude), float(depot.longitude)))
        points.extend((float(s.latitude), float(s.longitude)) for s in route.stops.all())
    if not points:
        return {"width": width, "height": height, "routes": [], "depots": []}
    mean_lat = sum(p[0] for p in points) / len(points)
    kx = math.cos(math.radians(mean_lat))
    xs = [p[1] * kx for p in points]
    ys = [p[0] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-4)
    pad = 20
    scale = min((width - 2 * pad) / span, (height - 2 * pad) / span)

    def project(lat: float, lon: float) -> tuple[float, float]:
        return (
            round(pad + (lon * kx - min(xs)) * scale, 1),
            round(height - pad - (lat - min(ys)) * scale, 1),
        )

    out_routes, depots = [], {}
    for index, route in enumerate(routes):
        depot = route.bus.depot
        start = project(float(depot.latitude), float(depot.longitude))
        depots[depot.pk] = {"x": start[0], "y": start[1], "name": depot.name}
        stops = [
            {
                "x": xy[0],
                "y": xy[1],
                "sequence": stop.sequence,
                "title": f"{route.bus.name} #{stop.sequence} — {stop.address} ({stop.baskets})",
            }
            for stop in route.stops.all()
            for xy in [project(float(stop.latitude), float(stop.longitude))]
        ]
        path = [start, *((s["x"], s["y"]) for s in stops), start]
        out_routes.append(
            {
                "colour": PALETTE[index % len(PALETTE)],
                "bus": route.bus.name,
                "points": " ".join(f"{x},{y}" for x, y in path),
                "stops": stops,
            }
        )
    return {"width": width, "height": height, "routes": out_routes, "depots": list(depots.values())}


# --- A shopper's addresses (privacy.services.account_close) ------------------------------------


def route_stops_only_for(*, user_id: int) -> QuerySet[RouteStop]:
    """Stops, in every plan version, that only ever served the shopper's orders: their address
    is the shopper's alone there. A stop also serving anyone else's order (a neighbour of the
    building, a guest) is not one."""
    others = PlannedOrder.objects.filter(stop_id=OuterRef("pk")).exclude(
        order_delivery__order__user_id=user_id
    )
    mine = PlannedOrder.objects.filter(
        order_delivery__order__user_id=user_id, stop__isnull=False
    ).values("stop_id")
    return RouteStop.objects.filter(pk__in=mine).exclude(Exists(others))


def _keys(rows) -> set[str]:
    return {
        address_key(line=line, postcode=postcode) for line, postcode in rows if (line or "").strip()
    }


def address_locations_only_for(*, user_id: int) -> QuerySet[AddressLocation]:
    """Geocoding cache entries for addresses only this shopper used (their orders, subscriptions,
    address book and route stops). An address someone else also uses — another account's or a
    guest's order, subscription or address book, matched as the planner matches buildings — is
    not one. Read it before the shopper's addresses are erased."""
    from oscar.apps.address.models import UserAddress
    from oscar.apps.order.models import ShippingAddress

    from baskets.models import BasketSubscription

    mine = [
        *ShippingAddress.objects.filter(order__user_id=user_id).values_list("line1", "postcode"),
        *BasketSubscription.objects.filter(user_id=user_id).values_list("line1", "postcode"),
        *UserAddress.objects.filter(user_id=user_id).values_list("line1", "postcode"),
    ]
    stops = list(
        RouteStop.objects.filter(orders__order_delivery__order__user_id=user_id).values_list(
            "address_key", "postcode"
        )
    )
    keys = _keys(mine) | {key for key, _postcode in stops if key}
    if not keys or not AddressLocation.objects.filter(key__in=keys).exists():
        return AddressLocation.objects.none()
    # Anyone else's address of the same building has the same postcode: compare only those.
    postcodes = {postcode for _line, postcode in mine} | {postcode for _key, postcode in stops}
    postcodes |= {postcode.strip() for postcode in postcodes if postcode}
    postcodes.discard("")
    theirs = [
        *ShippingAddress.objects.filter(postcode__in=postcodes)
        .exclude(order__user_id=user_id)
        .values_list("line1", "postcode"),
        *BasketSubscription.objects.filter(postcode__in=postcodes)
        .exclude(user_id=user_id)
        .values_list("line1", "postcode"),
        *UserAddress.objects.filter(postcode__in=postcodes)
        .exclude(user_id=user_id)
        .values_list("line1", "postcode"),
    ]
    return AddressLocation.objects.filter(key__in=keys - _keys(theirs))
