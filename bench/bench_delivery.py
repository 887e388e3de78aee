"""Delivery capacity under contention, the checkout's delivery lookup, and a reschedule.

Run: `make bench` (or `.venv/bin/python bench/bench_delivery.py`). Needs PostgreSQL and Redis.
Prints:
- bookings per second when THREADS shoppers (one connection each) book one basket at a time on
  one district-date until it is full, and the check that it ended exactly full;
- the time and SQL queries of one delivery lookup as the checkout makes it (postcode → district
  → next date with room → Oscar shipping method);
- the time to move BOOKINGS orders when a district's weekday changes (one transaction).
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

from _setup import bench_database, machine

THREADS = int(os.environ.get("BENCH_THREADS", "16"))
CAPACITY = int(os.environ.get("BENCH_CAPACITY", "2000"))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "1000"))


def main() -> None:
    with bench_database():
        from decimal import Decimal

        from django.db import connection, connections
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone
        from oscar.apps.basket.models import Basket
        from oscar.apps.order.models import ShippingAddress

        from delivery.calendar import delivery_dates_upcoming
        from delivery.models import DeliveryDate, District, OrderDelivery, Postcode, Weekday
        from delivery.services.booking import delivery_date_book
        from delivery.services.reschedule import district_reschedule
        from delivery.shipping import shipping_methods_for

        district = District.objects.create(
            name="Paris 13e Arrondissement",
            insee_code="75113",
            department="75",
            latitude=Decimal("48.828718"),
            longitude=Decimal("2.362468"),
            weekday=Weekday.TUESDAY,
            capacity=CAPACITY,
            is_active=True,
        )
        Postcode.objects.create(code="75013", district=district)
        day = delivery_dates_upcoming(district=district, count=1)[0]

        # 1. Contention: every thread books until the date is full.
        counts = [0] * THREADS
        barrier = threading.Barrier(THREADS)

        def shopper(i: int) -> None:
            barrier.wait()
            while delivery_date_book(district_id=district.pk, day=day, quantity=1):
                counts[i] += 1
            connections.close_all()

        threads = [threading.Thread(target=shopper, args=(i,)) for i in range(THREADS)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        row = DeliveryDate.objects.get(district=district, date=day)
        print(f"machine: {machine()}")
        print(
            f"booking: {sum(counts)} baskets by {THREADS} threads in {elapsed:.2f}s "
            f"= {sum(counts) / elapsed:.0f} bookings/s; booked {row.booked}/{row.capacity} "
            f"({'exactly full' if row.booked == row.capacity == sum(counts) else 'MISMATCH'})"
        )

        # 2. The checkout's lookup (the next date is full now: it finds the one after).
        cart = Basket.objects.create()
        address = ShippingAddress(postcode="75013", line4="Paris")
        runs = 200
        started = time.perf_counter()
        for _ in range(runs):
            shipping_methods_for(cart=cart, shipping_addr=address)
        per_call = (time.perf_counter() - started) / runs * 1000
        with CaptureQueriesContext(connection) as ctx:
            [method] = shipping_methods_for(cart=cart, shipping_addr=address)
        print(
            f"checkout lookup: {per_call:.2f} ms per call, {len(ctx.captured_queries)} queries "
            f"({method.name})"
        )

        # 3. Reschedule BOOKINGS orders from Tuesday to Thursday.
        from oscar.test.factories import create_order

        DeliveryDate.objects.all().delete()
        district.capacity = BOOKINGS
        district.save()
        later = day + timedelta(weeks=1)
        DeliveryDate.objects.create(
            district=district, date=later, capacity=BOOKINGS, booked=BOOKINGS
        )
        orders = [create_order() for _ in range(BOOKINGS)]
        OrderDelivery.objects.bulk_create(
            OrderDelivery(
                order=o, district=district, delivery_date=later, requested_date=later, baskets=1
            )
            for o in orders
        )
        started = time.perf_counter()
        moves = district_reschedule(
            district_id=district.pk, weekday=Weekday.THURSDAY, now=timezone.now()
        )
        elapsed = time.perf_counter() - started
        print(f"reschedule: {len(moves)} orders moved in {elapsed:.2f}s (one transaction)")


if __name__ == "__main__":
    main()
