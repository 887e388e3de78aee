"""The vehicle-routing solver behind one small interface: stops and vehicles in, routes out.

Pure computation (no database), so it is tested on random instances and benchmarked alone.
PyVRP (hybrid genetic search, MIT) solves a capacitated VRP with shift time windows and service
times; every stop is *optional* with a prize far above any detour, so the solver serves all it
can and leaves out — rather than failing on — what the fleet cannot carry or reach in time.
Whatever the solver returns is re-checked here (load, shift), so no route is ever over capacity
or past its shift end.

Times are seconds since midnight of the delivery date; distances are metres.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

EARTH_RADIUS_M = 6_371_000
# A stop's prize: 10,000 km. Any stop the fleet can take is worth more than its detour.
PRIZE = 10_000_000
# PyVRP's iterated local search, tuned on our synthetic Paris days (bench/bench_routes.py, same
# CPU time per run): a shorter late-acceptance history (100, PyVRP's default 300) lets the search
# settle sooner at every size; a granular neighbourhood of the 25 nearest stops (default 50)
# makes each local search about twice as fast up to a few thousand stops — at 2,000 stops and
# 20 s the two cut the distance by ~2.5 % — but beyond that it leaves too few moves between
# routes to empty one (5,000 stops: +3 %, more buses), so large days keep PyVRP's 50.
ACCEPTANCE_HISTORY = 100
NEIGHBOURS_SMALL, NEIGHBOURS_LARGE, LARGE_FROM = 25, 50, 3_000


@dataclass(frozen=True)
class StopIn:
    key: str
    latitude: float
    longitude: float
    demand: int
    service_s: int


@dataclass(frozen=True)
class VehicleIn:
    key: int
    capacity: int
    depot_latitude: float
    depot_longitude: float
    # Earliest departure (shift start + loading) and end of shift, back at the depot.
    start_s: int
    end_s: int


@dataclass
class RouteOut:
    vehicle_key: int
    stop_keys: list[str]
    etas_s: list[int]
    load: int
    distance_m: int
    depart_s: int
    return_s: int


@dataclass
class SolveOut:
    routes: list[RouteOut]
    # Stop key → reason code (the PlannedOrder.Reason values).
    dropped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    objective_distance_m: int = 0


@dataclass(frozen=True)
class TravelModel:
    speed_kmh: float
    detour_factor: float

    @property
    def metres_per_second(self) -> float:
        return self.speed_kmh * 1000 / 3600


def _matrices(
    lats: np.ndarray, lons: np.ndarray, travel: TravelModel
) -> tuple[np.ndarray, np.ndarray]:
    """Road-ish distances (haversine × detour, m) and durations (s), filled by row blocks so the
    temporary arrays stay small at 5,000 stops."""
    n = len(lats)
    phi, lmb = np.radians(lats), np.radians(lons)
    cos_phi = np.cos(phi)
    distance = np.empty((n, n), dtype=np.int64)
    duration = np.empty((n, n), dtype=np.int64)
    block = 512
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        dphi = phi[None, :] - phi[rows, None]
        dlmb = lmb[None, :] - lmb[rows, None]
        a = np.sin(dphi / 2) ** 2 + cos_phi[rows, None] * cos_phi[None, :] * np.sin(dlmb / 2) ** 2
        metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1))) * travel.detour_factor
        distance[rows] = np.rint(metres)
        duration[rows] = np.rint(metres / travel.metres_per_second)
    return distance, duration


def haversine_one(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


class _ProgressStop:
    """PyVRP stopping criterion: a time limit that also reports progress (0–1) every second."""

    def __init__(self, seconds: float, on_progress: Callable[[float], None] | None):
        self.seconds = seconds
        self.on_progress = on_progress
        self.started: float | None = None
        self.reported = 0.0

    def __call__(self, best_cost: float) -> bool:
        now = time.perf_counter()
        if self.started is None:
            self.started = self.reported = now
        elapsed = now - self.started
        if self.on_progress is not None and now - self.reported >= 1.0:
            self.reported = now
            self.on_progress(min(1.0, elapsed / self.seconds) if self.seconds else 1.0)
        return elapsed > self.seconds


def routes_solve(
    *,
    stops: Sequence[StopIn],
    vehicles: Sequence[VehicleIn],
    travel: TravelModel,
    seconds: float,
    seed: int = 1,
    previous: dict[str, int] | None = None,
    on_progress: Callable[[float], None] | None = None,
    tuned: bool = True,
) -> SolveOut:
    """Routes for ``vehicles`` serving as many ``stops`` as they can.

    ``previous`` (stop key → vehicle key of the last plan) decides which of several identical
    buses drives which route, so re-planning moves as few stops between buses as it can.
    Stops left out are in ``dropped`` with the reason; no route exceeds its capacity or shift.
    ``tuned=False`` runs PyVRP with its own defaults (the benchmark's second reference).
    """
    from pyvrp import Client, Depot, Location, ProblemData, SolveParams, VehicleType, solve
    from pyvrp.exceptions import PenaltyBoundWarning
    from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
    from pyvrp.search import NeighbourhoodParams

    started = time.perf_counter()
    out = SolveOut(routes=[])
    vehicles = [v for v in vehicles if v.capacity > 0 and v.end_s > v.start_s]
    if not stops:
        out.seconds = time.perf_counter() - started
        return out
    if not vehicles:
        out.dropped = {stop.key: "no_bus" for stop in stops}
        out.seconds = time.perf_counter() - started
        return out

    depot_points = sorted({(v.depot_latitude, v.depot_longitude) for v in vehicles})
    depot_index = {point: i for i, point in enumerate(depot_points)}
    lats = np.array([p[0] for p in depot_points] + [s.latitude for s in stops], dtype=np.float64)
    lons = np.array([p[1] for p in depot_points] + [s.longitude for s in stops], dtype=np.float64)
    distance, duration = _matrices(lats, lons, travel)
    n_depots = len(depot_points)

    # Stops no bus could take alone: too many baskets for any bus, or no shift long enough for
    # the return trip. Said as such rather than left to the solver.
    max_capacity = max(v.capacity for v in vehicles)
    candidates: list[int] = []
    for i, stop in enumerate(stops):
        loc = n_depots + i
        if stop.demand > max_capacity:
            out.dropped[stop.key] = "too_large"
            continue
        reachable = any(
            v.capacity >= stop.demand
            and v.start_s
            + duration[depot_index[(v.depot_latitude, v.depot_longitude)], loc]
            + stop.service_s
            + duration[loc, depot_index[(v.depot_latitude, v.depot_longitude)]]
            <= v.end_s
            for v in vehicles
        )
        if not reachable:
            out.dropped[stop.key] = "too_far"
            continue
        candidates.append(i)

    # Identical buses share one vehicle type (much faster to solve than one type per bus).
    groups: dict[tuple, list[VehicleIn]] = defaultdict(list)
    for vehicle in vehicles:
        depot = depot_index[(vehicle.depot_latitude, vehicle.depot_longitude)]
        groups[(vehicle.capacity, depot, vehicle.start_s, vehicle.end_s)].append(vehicle)
    group_keys = sorted(groups)

    if candidates:
        data = ProblemData(
            locations=[Location(x=float(lons[i]), y=float(lats[i])) for i in range(len(lats))],
            clients=[
                Client(
                    location=n_depots + i,
                    delivery=[stops[i].demand],
                    service_duration=stops[i].service_s,
                    required=False,
                    prize=PRIZE,
                )
                for i in candidates
            ],
            depots=[Depot(location=d) for d in range(n_depots)],
            vehicle_types=[
                VehicleType(
                    num_available=len(groups[key]),
                    capacity=[key[0]],
                    start_depot=key[1],
                    end_depot=key[1],
                    tw_early=key[2],
                    tw_late=key[3],
                    start_late=key[2],
                )
                for key in group_keys
            ],
            distance_matrices=[distance],
            duration_matrices=[duration],
        )
        with warnings.catch_warnings():
            # PyVRP warns when its penalties saturate on an instance with few feasible
            # solutions (stops the fleet cannot all take); the re-check below covers it.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
            result = solve(
                data,
                stop=_ProgressStop(seconds, on_progress),
                seed=seed,
                collect_stats=False,
                display=False,
                params=SolveParams(
                    ils=IteratedLocalSearchParams(history_length=ACCEPTANCE_HISTORY),
                    neighbourhood=NeighbourhoodParams(
                        num_neighbours=NEIGHBOURS_SMALL
                        if len(candidates) < LARGE_FROM
                        else NEIGHBOURS_LARGE
                    ),
                )
                if tuned
                else SolveParams(),
            )
        solved = [
            (
                route.vehicle_type(),
                [candidates[a.idx] for a in route.schedule() if a.is_client()],
            )
            for route in result.best.routes()
        ]
    else:
        solved = []

    # Concrete buses for each route: within a vehicle type, the bus that carried most of the
    # route's stops in the previous plan (then the lowest id), so re-planning moves little.
    previous = previous or {}
    placed: set[int] = set()
    for type_index, key in enumerate(group_keys):
        free = sorted(groups[key], key=lambda v: v.key)
        type_routes = [visits for t, visits in solved if t == type_index and visits]
        type_routes.sort(key=len, reverse=True)
        for visits in type_routes:

            def overlap(vehicle: VehicleIn, visits=visits) -> tuple[int, int]:
                same = sum(previous.get(stops[i].key) == vehicle.key for i in visits)
                return (-same, vehicle.key)

            vehicle = min(free, key=overlap)
            free.remove(vehicle)
            route = _route_checked(
                vehicle=vehicle,
                visits=visits,
                stops=stops,
                depot=key[1],
                n_depots=n_depots,
                distance=distance,
                duration=duration,
                out=out,
            )
            if route.stop_keys:
                out.routes.append(route)
            placed.update(i for i in visits if stops[i].key in route.stop_keys)

    # Stops the solver left out: the fleet's capacity, or its time, ran out.
    total_capacity = sum(v.capacity for v in vehicles)
    total_demand = sum(stops[i].demand for i in candidates)
    fleet_reason = "fleet_full" if total_demand > total_capacity else "no_time_left"
    for i in candidates:
        if i not in placed and stops[i].key not in out.dropped:
            out.dropped[stops[i].key] = fleet_reason
    out.objective_distance_m = sum(route.distance_m for route in out.routes)
    out.seconds = time.perf_counter() - started
    return out


def _route_checked(
    *,
    vehicle: VehicleIn,
    visits: list[int],
    stops: Sequence[StopIn],
    depot: int,
    n_depots: int,
    distance: np.ndarray,
    duration: np.ndarray,
    out: SolveOut,
) -> RouteOut:
    """The route with its ETAs, trimmed from the end until within capacity and shift."""
    visits = list(visits)
    while True:
        load = sum(stops[i].demand for i in visits)
        etas: list[int] = []
        clock, metres, here = vehicle.start_s, 0, depot
        for i in visits:
            loc = n_depots + i
            clock += int(duration[here, loc])
            metres += int(distance[here, loc])
            etas.append(clock)
            clock += stops[i].service_s
            here = loc
        clock += int(duration[here, depot])
        metres += int(distance[here, depot])
        if (load <= vehicle.capacity and clock <= vehicle.end_s) or not visits:
            break
        last = visits.pop()
        out.dropped[stops[last].key] = "fleet_full" if load > vehicle.capacity else "no_time_left"
    if not visits:
        metres, clock = 0, vehicle.start_s
    return RouteOut(
        vehicle_key=vehicle.key,
        stop_keys=[stops[i].key for i in visits],
        etas_s=etas,
        load=load if visits else 0,
        distance_m=metres,
        depart_s=vehicle.start_s,
        return_s=clock,
    )
