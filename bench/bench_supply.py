"""The supply forecast at scale: 100,000 active subscriptions (a few paused, a few skipping a
week) over 4 weeks, 60 basket variants of 40 components drawn from 500 groceries, 24 districts
over the weekdays, plus 5,000 placed orders.

Run: `.venv/bin/python bench/bench_supply.py` (BENCH_SUBSCRIPTIONS=… to shrink it). Needs
PostgreSQL. Prints the time of a full refresh (snapshot, reservations, caps), the snapshot's
size, the Python memory peak during the refresh (tracemalloc) and the process's peak RSS.
Uses its own database, ``<db>_bench_supply``, so it never drops another benchmark's.
"""

from __future__ import annotations

import os
import random
import resource
import time
import tracemalloc
from datetime import date, datetime, timedelta
from decimal import Decimal

from _setup import machine

SUBSCRIPTIONS = int(os.environ.get("BENCH_SUBSCRIPTIONS", "100000"))
VARIANTS, COMPONENTS, PER_BASKET, DISTRICTS, ORDERS = 60, 500, 40, 24, 5000


def _database():
    from contextlib import contextmanager

    import django

    @contextmanager
    def database():
        django.setup()
        from django.db import connection
        from django.test.utils import setup_test_environment

        setup_test_environment()
        old_name = connection.settings_dict["NAME"]
        connection.settings_dict["TEST"]["NAME"] = f"{old_name}_bench_supply"
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)

    return database()


def main() -> None:
    with _database():
        from django.contrib.auth import get_user_model
        from django.db import connection
        from oscar.apps.address.models import Country
        from oscar.apps.catalogue.models import Product
        from oscar.apps.order.models import Line, Order

        from baskets.models import (
            BasketComponent,
            BasketSubscription,
            BasketTheme,
            BasketVariant,
            SubscriptionSkip,
            ThemedBasket,
        )
        from baskets.services.catalogue import (
            basket_product_class,
            grocery_product_class,
            shop_partner,
        )
        from delivery.calendar import PARIS
        from delivery.models import District, OrderDelivery
        from essentiels.oscar_forks.partner.models import StockRecord
        from supply.models import ComponentDemand, VariantDemand
        from supply.services.forecast import supply_forecast_refresh

        rng = random.Random(2020)
        now = datetime(2026, 12, 4, 10, 0, tzinfo=PARIS)
        grocery, partner = grocery_product_class(), shop_partner()
        products = Product.objects.bulk_create(
            Product(
                title=f"Produit {i}",
                upc=f"G{i:05d}",
                slug=f"produit-{i}",
                product_class=grocery,
                structure=Product.STANDALONE,
                is_public=True,
            )
            for i in range(COMPONENTS)
        )
        StockRecord.objects.bulk_create(
            StockRecord(
                product=p,
                partner=partner,
                partner_sku=p.upc,
                price=Decimal("2.00"),
                cost_price=Decimal("0.50"),
                num_in_stock=rng.randint(0, 50_000),
            )
            for p in products
        )
        theme = BasketTheme.objects.create(name="Essentiel", slug="essentiel")
        panier = basket_product_class()
        variants = []
        for i in range(VARIANTS // 3):
            parent = Product.objects.create(
                title=f"Panier {i}", upc=f"B{i}", structure=Product.PARENT, product_class=panier
            )
            basket = ThemedBasket.objects.create(product=parent, theme=theme)
            for persons in (1, 2, 4):
                child = Product.objects.create(
                    title=f"Panier {i} ({persons})",
                    upc=f"B{i}-{persons}",
                    structure=Product.CHILD,
                    parent=parent,
                )
                variants.append(
                    BasketVariant.objects.create(
                        product=child, themed_basket=basket, persons=persons
                    )
                )
        BasketComponent.objects.bulk_create(
            BasketComponent(variant=v, product=p, quantity=rng.randint(1, 3) * v.persons)
            for v in variants
            for p in rng.sample(products, PER_BASKET)
        )
        Country.objects.get_or_create(
            iso_3166_1_a2="FR", defaults={"printable_name": "France", "name": "France"}
        )
        districts = District.objects.bulk_create(
            District(
                name=f"District {i}",
                insee_code=f"99{i:03d}",
                department="75",
                latitude=Decimal("48.85"),
                longitude=Decimal("2.35"),
                weekday=i % 5,
                capacity=100_000,
                is_active=True,
            )
            for i in range(DISTRICTS)
        )
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"u{i}", email=f"u{i}@example.org") for i in range(1000)
        )
        t0 = time.perf_counter()
        batch = []
        for i in range(SUBSCRIPTIONS):
            paused = i % 50 == 0
            batch.append(
                BasketSubscription(
                    user=users[i % len(users)],
                    variant=variants[rng.randrange(len(variants))],
                    quantity=1 + (i % 7 == 0),
                    line1="1 rue",
                    line4="Paris",
                    postcode="75013",
                    district=districts[rng.randrange(DISTRICTS)],
                    starts_on=date(2026, 11, 30),
                    stripe_customer_id="cus",
                    stripe_payment_method_id="pm",
                    status="paused" if paused else "active",
                    paused_until=date(2026, 12, 20) if paused else None,
                )
            )
            if len(batch) == 10_000:
                BasketSubscription.objects.bulk_create(batch)
                batch = []
        BasketSubscription.objects.bulk_create(batch)
        skipping = BasketSubscription.objects.order_by("pk").values_list("pk", flat=True)[::20]
        SubscriptionSkip.objects.bulk_create(
            SubscriptionSkip(subscription_id=pk, delivery_date=date(2026, 12, 15))
            for pk in skipping
        )
        orders = Order.objects.bulk_create(
            Order(number=f"B{i}", site_id=1, total_incl_tax=0, total_excl_tax=0, date_placed=now)
            for i in range(ORDERS)
        )
        Line.objects.bulk_create(
            Line(
                order=o,
                partner=partner,
                product=variants[i % len(variants)].product,
                title="Panier",
                quantity=1,
                line_price_incl_tax=0,
                line_price_excl_tax=0,
                line_price_before_discounts_incl_tax=0,
                line_price_before_discounts_excl_tax=0,
                num_allocated=0,
            )
            for i, o in enumerate(orders)
        )
        OrderDelivery.objects.bulk_create(
            OrderDelivery(
                order=o,
                district=districts[i % DISTRICTS],
                delivery_date=date(2026, 12, 7) + timedelta(days=(i % DISTRICTS) % 5),
                requested_date=date(2026, 12, 7),
                baskets=1,
            )
            for i, o in enumerate(orders)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        setup = time.perf_counter() - t0

        timings = []
        for _ in range(3):
            tracemalloc.start()
            started = time.perf_counter()
            supply_forecast_refresh(now=now)
            timings.append(time.perf_counter() - started)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"bench_supply — {machine()}")
        print(
            f"{SUBSCRIPTIONS:,} subscriptions, {VARIANTS} variants × {PER_BASKET} of "
            f"{COMPONENTS} components, {DISTRICTS} districts, {ORDERS:,} orders "
            f"(data set-up {setup:.1f} s)"
        )
        print(
            "refresh (snapshot + reservations + caps), 3 runs: "
            + ", ".join(f"{t:.2f} s" for t in timings)
        )
        print(
            f"snapshot: {VariantDemand.objects.count():,} basket-date rows, "
            f"{ComponentDemand.objects.count():,} component-date rows"
        )
        print(f"Python peak during a refresh (tracemalloc): {peak / 1024 / 1024:.1f} MiB")
        print(f"process peak RSS (incl. set-up): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
