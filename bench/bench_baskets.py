"""Storefront cost: SQL queries and server time of the basket list and a basket page, for 10 and
then 200 themed baskets of 3 household sizes and 40 components each.

Run: `.venv/bin/python bench/bench_baskets.py`. Needs PostgreSQL and Redis (test settings, its own
throw-away database). The query count must not grow with the number of baskets or components;
times are through Django's test client (no network, no nginx), median and p95 of ROUNDS requests,
with the page cache off (every request rendered: what bench_pages.py calls a cold render).
"""

from __future__ import annotations

import statistics
import time

from _setup import bench_database, machine

ROUNDS = 30
SIZES = (10, 200)
COMPONENTS = 40
HOUSEHOLD_SIZES = {1: "45.00", 2: "80.00", 4: "150.00"}


def measure(client, url: str) -> tuple[int, float, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up (site, category tree, content types)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    # Counted now: each later request clears the connection's query log (request_started).
    queries = len(ctx.captured_queries)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return queries, statistics.median(times), times[int(ROUNDS * 0.95)]


def main() -> None:
    with bench_database():
        from django.test import Client, override_settings

        # The rendered pages, not the page cache (bench_pages.py measures that).
        override_settings(
            STOREFRONT_LIST_CACHE_SECONDS=0, STOREFRONT_BASKET_PAGE_CACHE_SECONDS=0
        ).enable()

        from baskets.storefront import basket_url
        from tests.baskets.factories import (
            basket_theme_create,
            groceries_create,
            themed_basket_create,
        )

        themes = [
            basket_theme_create(name="Essentiel", slug="essentiel", min_components=COMPONENTS),
            basket_theme_create(name="Végétarien", slug="vegetarien", min_components=COMPONENTS),
        ]
        # 120 groceries; each basket takes 40 of them (a sliding window, so baskets differ).
        products = groceries_create(count=120, cost="0.20", category="Épicerie")
        client = Client()
        built = 0
        last = None
        counts: dict[int, list[int]] = {}
        print(f"{'baskets':>7} {'page':55} {'queries':>7} {'median':>9} {'p95':>9}")
        for target in SIZES:
            start = time.perf_counter()
            while built < target:
                window = [products[(built + i) % len(products)] for i in range(COMPONENTS)]
                last = themed_basket_create(
                    title=f"Panier {built:03d}",
                    theme=themes[built % 2],
                    diets={"vegetarian"} if built % 2 else set(),
                    components=dict.fromkeys(window, 1),
                    sizes=HOUSEHOLD_SIZES,
                )
                built += 1
            build_s = time.perf_counter() - start
            detail = basket_url(product_id=last.product_id, slug=last.product.slug)
            for url in (
                "/paniers/",
                "/paniers/?theme=vegetarien&diet=vegetarian&persons=2",
                f"{detail}?persons=4",
            ):
                queries, median, p95 = measure(client, url)
                counts.setdefault(target, []).append(queries)
                print(f"{target:7d} {url:55} {queries:7d} {median:6.1f} ms {p95:6.1f} ms")
            print(f"{'':7} (built in {build_s:.1f} s)")
        constant = len({tuple(c) for c in counts.values()}) == 1
        print(f"query counts identical for {' and '.join(map(str, SIZES))} baskets: {constant}")
        print(
            f"{COMPONENTS} components per basket, {len(HOUSEHOLD_SIZES)} household sizes each; "
            f"list pages show 24 baskets. machine: {machine()}"
        )


if __name__ == "__main__":
    main()
