"""Catalogue page cost: SQL queries and server time per request, with the demo assortment.

Run: `make bench` (or `.venv/bin/python bench/bench_catalogue.py`). Needs PostgreSQL and Redis.
Prints queries per page and the median/p95 time of the view through Django's test client (no
network, no nginx): the figure to compare with stock Oscar's 124 queries for a 60-product page.
"""

from __future__ import annotations

import statistics
import time

from _setup import bench_database, machine

ROUNDS = 50


def main() -> None:
    with bench_database():
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        call_command("load_demo", verbosity=0)
        client = Client()
        for url in ("/catalogue/", "/catalogue/?page=2&sort_by=price-desc"):
            client.get(url)  # warm-up
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            # Read now: the next request's request_started signal resets the query log.
            queries = len(ctx.captured_queries)
            times = []
            for _ in range(ROUNDS):
                start = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            print(
                f"{url:45} queries={queries:3d} "
                f"median={statistics.median(times):6.1f} ms p95={times[int(ROUNDS * 0.95)]:6.1f} ms"
            )
        print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
