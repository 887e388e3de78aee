"""The solver alone, on random small instances: every stop once, no bus over capacity or shift."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery.routing.solver import StopIn, TravelModel, VehicleIn, routes_solve

TRAVEL = TravelModel(speed_kmh=25, detour_factor=1.3)
REASONS = {"no_bus", "too_large", "too_far", "fleet_full", "no_time_left"}

stops_strategy = st.lists(
    st.builds(
        lambda lat, lon, demand, service: (lat, lon, demand, service),
        st.floats(48.80, 48.90),
        st.floats(2.25, 2.45),
        st.integers(1, 6),
        st.integers(120, 240),
    ),
    min_size=0,
    max_size=14,
)
vehicles_strategy = st.lists(
    st.builds(
        lambda capacity, start_h, hours: (capacity, start_h, hours),
        st.integers(0, 15),
        st.integers(6, 10),
        st.integers(0, 8),
    ),
    min_size=0,
    max_size=3,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_stops=stops_strategy, raw_vehicles=vehicles_strategy)
def test_every_stop_is_on_one_route_or_dropped_and_no_route_breaks_a_limit(raw_stops, raw_vehicles):
    # given random stops around Paris and a random small fleet (zero capacities and zero-hour
    # shifts included) leaving from Rungis
    stops = [
        StopIn(key=f"s{i}", latitude=lat, longitude=lon, demand=demand, service_s=service)
        for i, (lat, lon, demand, service) in enumerate(raw_stops)
    ]
    vehicles = [
        VehicleIn(
            key=k,
            capacity=capacity,
            depot_latitude=48.7546,
            depot_longitude=2.3488,
            start_s=start_h * 3600,
            end_s=(start_h + hours) * 3600,
        )
        for k, (capacity, start_h, hours) in enumerate(raw_vehicles)
    ]
    # when solved with a tiny time limit
    out = routes_solve(stops=stops, vehicles=vehicles, travel=TRAVEL, seconds=0.05)
    # then every stop is exactly once on a route or in the dropped list, with a known reason
    on_routes = [key for route in out.routes for key in route.stop_keys]
    assert len(on_routes) == len(set(on_routes))
    assert set(on_routes).isdisjoint(out.dropped)
    assert set(on_routes) | set(out.dropped) == {s.key for s in stops}
    assert set(out.dropped.values()) <= REASONS
    # and no route exceeds its bus's capacity or shift, each bus drives at most once
    by_key = {v.key: v for v in vehicles}
    demand = {s.key: s.demand for s in stops}
    assert len({route.vehicle_key for route in out.routes}) == len(out.routes)
    for route in out.routes:
        vehicle = by_key[route.vehicle_key]
        assert route.load == sum(demand[key] for key in route.stop_keys) <= vehicle.capacity
        assert vehicle.start_s <= route.depart_s
        assert route.return_s <= vehicle.end_s
        assert route.etas_s == sorted(route.etas_s)
        assert all(vehicle.start_s < eta < vehicle.end_s for eta in route.etas_s)


def test_demand_above_the_fleet_drops_stops_as_fleet_full():
    # given 10 stops of 3 baskets and one bus of 10
    stops = [
        StopIn(key=f"s{i}", latitude=48.83 + i / 1000, longitude=2.36, demand=3, service_s=180)
        for i in range(10)
    ]
    bus = VehicleIn(
        key=1,
        capacity=10,
        depot_latitude=48.7546,
        depot_longitude=2.3488,
        start_s=9 * 3600,
        end_s=18 * 3600,
    )
    # when solved
    out = routes_solve(stops=stops, vehicles=[bus], travel=TRAVEL, seconds=0.2)
    # then the bus carries 3 stops (9 baskets) and the 7 others are dropped for capacity
    assert [route.load for route in out.routes] == [9]
    assert sorted(out.dropped.values()) == ["fleet_full"] * 7


def test_previous_assignment_decides_which_identical_bus_drives_a_route():
    # given two identical buses and one stop the last plan gave to bus 2
    stop = StopIn(key="s", latitude=48.83, longitude=2.36, demand=1, service_s=180)
    buses = [
        VehicleIn(
            key=k,
            capacity=5,
            depot_latitude=48.7546,
            depot_longitude=2.3488,
            start_s=9 * 3600,
            end_s=18 * 3600,
        )
        for k in (1, 2)
    ]
    # when re-solved
    out = routes_solve(stops=[stop], vehicles=buses, travel=TRAVEL, seconds=0.05, previous={"s": 2})
    # then bus 2 keeps it (not the lowest id)
    assert [route.vehicle_key for route in out.routes] == [2]
