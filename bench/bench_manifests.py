"""Manifests of a big delivery date (route sheet, loading list, picking list) in CSV, XLSX and PDF:
time and peak RSS of each export, at two sizes, to show memory stays flat as stops grow.

Run: `.venv/bin/python bench/bench_manifests.py` (needs PostgreSQL). Environment:
- BENCH_SIZES: stops per date, default "1000,5000" (the issue asks for 5,000);
- BENCH_STOPS_PER_BUS: default 100 (buses of 100 baskets, one-basket stops: 50 buses at 5,000).

Each date is a saved plan written directly (no solver: bench_routes.py measures planning):
N orders, one per stop, each with a basket line of one of three themes whose composition (40
components, as kept by OrderLineCost at checkout) feeds the picking list; a shipping address
with a phone and access notes; half of the orders paid. Each export runs in a fresh process
that only reads the plan and writes the whole file (CSV as streamed to the response, XLSX and
PDF to the temporary file the response streams). Peak RSS is the export's own (Linux: the
process's high-water mark is reset just before the export, once Django, Oscar and the writers'
libraries are loaded), shown with the growth over the RSS before it. Quick check:
BENCH_SIZES=50,200.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,5000").split(",")]
STOPS_PER_BUS = int(os.environ.get("BENCH_STOPS_PER_BUS", "100"))
KINDS = ("route_sheet", "loading_list", "picking_list")
FORMATS = ("csv", "xlsx", "pdf")
THEMES = ("Essentiel", "Fruits et légumes", "Fromages régionaux")


def child(plan_id: int, kind: str, fmt: str) -> None:
    """Export one manifest of ``plan_id`` (``kind`` "none": only load Django) and print JSON."""
    import django

    django.setup()
    from delivery.routing.manifests import csv_stream, manifest_build, pdf_file, xlsx_file
    from delivery.routing.models import RoutePlan

    plan = RoutePlan.objects.get(pk=plan_id)
    # Import the writers' libraries before the clock starts, as a long-lived worker has them.
    import openpyxl  # noqa: F401
    import reportlab.pdfgen.canvas  # noqa: F401

    # Peak RSS of the export alone: Linux resets the process's high-water mark (VmHWM) to its
    # current RSS when "5" is written to clear_refs, so startup's own peak does not hide it.
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    before = _status_mb("VmRSS")
    size, started = 0, time.perf_counter()
    if kind != "none":
        manifest = manifest_build(plan=plan, kind=kind)
        if fmt == "csv":
            for chunk in csv_stream(manifest):
                size += len(chunk.encode())
        else:
            handle = (xlsx_file if fmt == "xlsx" else pdf_file)(manifest)
            while chunk := handle.read(64 * 1024):
                size += len(chunk)
            handle.close()
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "bytes": size,
                "before_mb": before,
                "peak_mb": _status_mb("VmHWM"),
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def date_create(*, day, size: int, first_number: int) -> int:
    """A plan of ``size`` one-order stops on ``day``; returns its id."""
    import random
    from datetime import datetime, timedelta
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from django.utils import timezone
    from oscar.apps.address.models import Country
    from oscar.apps.order.models import Line, Order, ShippingAddress
    from oscar.apps.payment.models import Source, SourceType

    from baskets.models import OrderLineCost
    from delivery.models import District, OrderDelivery, Weekday
    from delivery.routing.models import Bus, Depot, PlannedOrder, Route, RoutePlan, RouteStop

    rng = random.Random(size)
    paris = ZoneInfo("Europe/Paris")
    country, _ = Country.objects.get_or_create(
        iso_3166_1_a2="FR", defaults={"printable_name": "France", "name": "France"}
    )
    district = District.objects.order_by("pk").first()
    depot = Depot.objects.first() or Depot.objects.create(
        name="Rungis", address="Rungis", latitude=Decimal("48.7546"), longitude=Decimal("2.3488")
    )
    compositions = {
        theme: [
            {"product_id": 1000 * t + c, "title": f"{theme} produit {c:02d}", "quantity": 1 + c % 3}
            for c in range(40)
        ]
        for t, theme in enumerate(THEMES)
    }
    card, _ = SourceType.objects.get_or_create(name="Carte")
    addresses = ShippingAddress.objects.bulk_create(
        [
            ShippingAddress(
                first_name="Client",
                last_name=f"Numéro {n}",
                line1=f"{n} rue du Banc d'Essai",
                line4="Paris",
                postcode="75013",
                country=country,
                phone_number="+33600000000",
                notes=f"Code porte {n % 9999:04d}, 3e étage gauche",
                search_text="",
            )
            for n in range(size)
        ],
        batch_size=1000,
    )
    now = timezone.now()
    orders = Order.objects.bulk_create(
        [
            Order(
                number=str(first_number + n),
                total_incl_tax=Decimal("49.90"),
                total_excl_tax=Decimal("47.30"),
                currency="EUR",
                date_placed=now,
                shipping_address=address,
                status="Pending",
            )
            for n, address in enumerate(addresses)
        ],
        batch_size=1000,
    )
    themes = [rng.choice(THEMES) for _ in orders]
    lines = Line.objects.bulk_create(
        [
            Line(
                order=order,
                partner_name="Les Essentiels",
                partner_sku=f"panier-{theme}",
                title=f"Panier {theme} (2 personnes)",
                quantity=1,
                line_price_incl_tax=Decimal("49.90"),
                line_price_excl_tax=Decimal("47.30"),
                line_price_before_discounts_incl_tax=Decimal("49.90"),
                line_price_before_discounts_excl_tax=Decimal("47.30"),
                num_allocated=0,
            )
            for order, theme in zip(orders, themes, strict=True)
        ],
        batch_size=1000,
    )
    OrderLineCost.objects.bulk_create(
        [
            OrderLineCost(line=line, unit_cost_price=Decimal("30.00"), composition=compositions[t])
            for line, t in zip(lines, themes, strict=True)
        ],
        batch_size=1000,
    )
    Source.objects.bulk_create(
        [
            Source(
                order=order,
                source_type=card,
                amount_allocated=Decimal("49.90"),
                amount_debited=Decimal("49.90"),
            )
            for order in orders[::2]
        ],
        batch_size=1000,
    )
    deliveries = OrderDelivery.objects.bulk_create(
        [
            OrderDelivery(
                order=order,
                district=district,
                delivery_date=day,
                requested_date=day,
                baskets=1,
            )
            for order in orders
        ],
        batch_size=1000,
    )
    plan = RoutePlan.objects.create(
        delivery_date=day, version=1, trigger="bench", fingerprint="bench", solver="bench"
    )
    n_buses = -(-size // STOPS_PER_BUS)
    buses = Bus.objects.bulk_create(
        [
            Bus(
                name=f"Bus {day:%m%d} {k:03d}",
                depot=depot,
                capacity=STOPS_PER_BUS,
                weekdays=[Weekday.TUESDAY],
                shift_start=datetime.min.time().replace(hour=9),
                shift_end=datetime.min.time().replace(hour=18),
            )
            for k in range(n_buses)
        ]
    )
    routes = Route.objects.bulk_create(
        [
            Route(
                plan=plan,
                bus=bus,
                capacity=STOPS_PER_BUS,
                load=min(STOPS_PER_BUS, size - k * STOPS_PER_BUS),
            )
            for k, bus in enumerate(buses)
        ]
    )
    nine = datetime.combine(day, datetime.min.time().replace(hour=9, minute=30), tzinfo=paris)
    stops = RouteStop.objects.bulk_create(
        [
            RouteStop(
                route=routes[n // STOPS_PER_BUS],
                sequence=n % STOPS_PER_BUS + 1,
                address_key=f"k{n}",
                address=address.line1,
                postcode="75013",
                city="Paris",
                latitude=Decimal("48.828718"),
                longitude=Decimal("2.362468"),
                location_source="offline",
                baskets=1,
                eta=nine + timedelta(minutes=5 * (n % STOPS_PER_BUS)),
            )
            for n, address in enumerate(addresses)
        ],
        batch_size=1000,
    )
    PlannedOrder.objects.bulk_create(
        [
            PlannedOrder(plan=plan, order_delivery=delivery, stop=stop, baskets=1)
            for delivery, stop in zip(deliveries, stops, strict=True)
        ],
        batch_size=1000,
    )
    return plan.pk


def run_child(plan_id: int, kind: str, fmt: str, env: dict) -> dict:
    out = subprocess.run(  # noqa: S603 — this script, with our own arguments
        [sys.executable, __file__, "--child", str(plan_id), kind, fmt],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from datetime import date, timedelta

    from _setup import bench_database, machine

    with bench_database():
        from django.db import connection

        from delivery.services.districts import districts_load

        districts_load()
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "essentiels.settings.test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
        print(f"machine: {machine()}")
        number = 500_000
        for index, size in enumerate(SIZES):
            day = date(2031, 3, 4) + timedelta(weeks=index)
            started = time.perf_counter()
            plan_id = date_create(day=day, size=size, first_number=number)
            number += size
            base = run_child(plan_id, "none", "-", env)
            print(
                f"{size} stops ({-(-size // STOPS_PER_BUS)} buses), written in "
                f"{time.perf_counter() - started:.1f}s; process before an export: "
                f"{base['before_mb']:.0f} MB RSS (start-up peak {base['maxrss_mb']:.0f} MB)"
            )
            for kind in KINDS:
                cells = []
                for fmt in FORMATS:
                    got = run_child(plan_id, kind, fmt, env)
                    cells.append(
                        f"{fmt} {got['seconds']:.1f}s {got['bytes'] / 1024:.0f} KiB, "
                        f"peak RSS {got['peak_mb']:.0f} MB "
                        f"(+{got['peak_mb'] - got['before_mb']:.1f})"
                    )
                print(f"  {kind}: " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        child(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        main()
