"""Route planning on synthetic delivery dates, end to end (database → saved routes).

Run: `.venv/bin/python bench/bench_routes.py` (needs PostgreSQL). Environment:
- BENCH_SIZES: stops per date, default "500,2000,5000";
- BENCH_PLAN_SECONDS: solver time limit per size, default "5,25,60" (2,000 stops: 25 s leaves
  the 30 s target room for loading and saving);
- BENCH_REFERENCE_SECONDS: the long reference run on the same instance, default 120 (0: none);
- BENCH_SEED: instance seed, default 7.

Each date: N orders, each to its own address (so N stops) in Paris and the inner suburbs (75,
92, 93, 94; offline geocoder: commune point spread by a hash of the address), demand 1–6 baskets,
buses of 100 baskets working 09:00–18:00 from Rungis (fleet = 110 % of the demand), 2 to 4
minutes per stop: the planner's own service time, ROUTING_SERVICE_MINUTES = 2 for the first
basket + 0.4 min for each other one, so the drawn demand of 1–6 baskets draws the time at each
stop (2.0, 2.4 … 4.0 min). Prints, per size: plan time end to end and solver time, total
distance, buses used, orders not placed, peak RSS, and the ratio of the distance to the
reference: the shorter of two long runs of PyVRP alone on the same stops, service times and fleet,
one with our tuned parameters and one with PyVRP's defaults.

Quick check at tiny sizes: BENCH_SIZES=50 BENCH_PLAN_SECONDS=1 BENCH_REFERENCE_SECONDS=2.
"""

from __future__ import annotations

import math
import os
import random
import resource
import time
from datetime import date
from datetime import time as clock

from _setup import bench_database, machine

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "500,2000,5000").split(",")]
PLAN_SECONDS = [float(s) for s in os.environ.get("BENCH_PLAN_SECONDS", "5,25,60").split(",")]
REFERENCE_SECONDS = float(os.environ.get("BENCH_REFERENCE_SECONDS", "120"))
SEED = int(os.environ.get("BENCH_SEED", "7"))
DAY0 = date(2031, 3, 4)  # Tuesdays from here, one per size


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    with bench_database():
        from datetime import timedelta
        from decimal import Decimal

        from django.conf import settings
        from django.utils import timezone
        from oscar.apps.address.models import Country
        from oscar.apps.order.models import Order, ShippingAddress

        from delivery.models import District, OrderDelivery, Weekday
        from delivery.routing.models import Bus, Depot, PlannedOrder, RouteStop
        from delivery.routing.services.planning import route_plan, travel_model
        from delivery.routing.solver import StopIn, VehicleIn, routes_solve
        from delivery.services.districts import districts_load

        settings.ROUTING_SERVICE_MINUTES = 2
        settings.ROUTING_SERVICE_EXTRA_BASKET_MINUTES = 0.4
        districts_load()
        districts = list(District.objects.filter(department__in=["75", "92", "93", "94"]))
        country, _ = Country.objects.get_or_create(
            iso_3166_1_a2="FR", defaults={"printable_name": "France", "name": "France"}
        )
        depot = Depot.objects.create(
            name="Rungis",
            address="Rungis",
            latitude=Decimal("48.7546"),
            longitude=Decimal("2.3488"),
            loading_minutes=0,
        )
        rng = random.Random(SEED)
        print(f"machine: {machine()}")
        print(
            f"communes: {len(districts)}; depot Rungis; buses of 100, 09:00-18:00; "
            "2-4 min per stop (2 + 0.4 per basket after the first)"
        )
        number = 100_000
        for index, (size, seconds) in enumerate(zip(SIZES, PLAN_SECONDS, strict=False)):
            day = DAY0 + timedelta(weeks=index)
            demands = [rng.randint(1, 6) for _ in range(size)]
            chosen = [rng.choice(districts) for _ in range(size)]
            addresses = ShippingAddress.objects.bulk_create(
                [
                    ShippingAddress(
                        first_name="Client",
                        last_name=str(n),
                        line1=f"{n} rue du Banc d'Essai",
                        line4=district.name,
                        postcode="75000",
                        country=country,
                        search_text="",
                    )
                    for n, district in enumerate(chosen)
                ]
            )
            now = timezone.now()
            orders = Order.objects.bulk_create(
                [
                    Order(
                        number=str(number + n),
                        total_incl_tax=Decimal("49.90"),
                        total_excl_tax=Decimal("47.30"),
                        currency="EUR",
                        date_placed=now,
                        shipping_address=address,
                        status="Pending",
                    )
                    for n, address in enumerate(addresses)
                ]
            )
            number += size
            OrderDelivery.objects.bulk_create(
                [
                    OrderDelivery(
                        order=order,
                        district=district,
                        delivery_date=day,
                        requested_date=day,
                        baskets=demand,
                    )
                    for order, district, demand in zip(orders, chosen, demands, strict=True)
                ]
            )
            fleet = math.ceil(sum(demands) * 1.1 / 100)
            Bus.objects.filter(name__startswith="Bench").update(is_active=False)
            Bus.objects.bulk_create(
                [
                    Bus(
                        name=f"Bench {size} #{k:03d}",
                        depot=depot,
                        capacity=100,
                        weekdays=[Weekday.TUESDAY],
                        shift_start=clock(9),
                        shift_end=clock(18),
                    )
                    for k in range(fleet)
                ]
            )
            started = time.perf_counter()
            run = route_plan(delivery_date=day, trigger="bench", seconds=seconds)
            elapsed = time.perf_counter() - started
            plan = run.plan
            unplaced = PlannedOrder.objects.filter(plan=plan, stop__isnull=True).count()
            used = plan.routes.count()
            service = list(
                RouteStop.objects.filter(route__plan=plan).values_list("service_seconds", flat=True)
            )
            line = (
                f"{size} stops ({sum(demands)} baskets, {fleet} buses): planned in {elapsed:.1f}s "
                f"end to end (solver {plan.solve_seconds:.1f}s of {seconds:.0f}s), "
                f"{plan.total_distance_m / 1000:.1f} km, {used} buses used, {unplaced} not placed, "
                f"service {min(service, default=0) / 60:.1f}-{max(service, default=0) / 60:.1f}"
                f" min per stop (mean {sum(service) / max(1, len(service)) / 60:.2f}), "
                f"peak RSS {peak_rss_mb():.0f} MB"
            )
            if REFERENCE_SECONDS > 0:
                stops = [
                    StopIn(
                        key=str(s.pk),
                        latitude=float(s.latitude),
                        longitude=float(s.longitude),
                        demand=s.baskets,
                        service_s=s.service_seconds,
                    )
                    for s in RouteStop.objects.filter(route__plan=plan)
                ]
                if unplaced:
                    line += " (reference ignores unplaced stops)"
                vehicles = [
                    VehicleIn(
                        key=k,
                        capacity=100,
                        depot_latitude=48.7546,
                        depot_longitude=2.3488,
                        start_s=9 * 3600,
                        end_s=18 * 3600,
                    )
                    for k in range(fleet)
                ]
                # Two long runs, PyVRP as we tune it and with its own defaults: the better
                # one is the reference.
                references = {
                    name: routes_solve(
                        stops=stops,
                        vehicles=vehicles,
                        travel=travel_model(),
                        seconds=REFERENCE_SECONDS,
                        seed=SEED,
                        tuned=tuned,
                    ).objective_distance_m
                    for name, tuned in (("tuned", True), ("defaults", False))
                }
                best = min(references.values())
                ratio = plan.total_distance_m / max(1, best)
                line += (
                    f"; reference ({REFERENCE_SECONDS:.0f}s): "
                    + ", ".join(f"{name} {m / 1000:.1f} km" for name, m in references.items())
                    + f" -> ratio {ratio:.3f}"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()
