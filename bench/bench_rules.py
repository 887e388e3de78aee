"""Re-checking baskets after a bulk cost import: 5,000 grocery products, 200 basket variants of
40 components each, then a 5,000-row cost import through the admin's import resource.

Run: `make bench` (or `.venv/bin/python bench/bench_rules.py`). Needs PostgreSQL and Redis.
Prints the time of the import (all rows, one re-check at the end), of a re-check of every
basket alone, and the SQL queries that re-check costs.
"""

from __future__ import annotations

import os
import random
import time
from decimal import Decimal

from _setup import bench_database, machine

PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "5000"))
VARIANTS = 200
COMPONENTS = 40


def main() -> None:
    with bench_database():
        import tablib
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from oscar.apps.catalogue.models import Product

        from baskets.import_export import GroceryCostResource
        from baskets.models import (
            BasketComponent,
            BasketTheme,
            BasketVariant,
            Diet,
            GroceryDiets,
            ThemedBasket,
        )
        from baskets.services.catalogue import (
            basket_product_class,
            grocery_product_class,
            shop_partner,
        )
        from baskets.services.rules import basket_variants_check
        from essentiels.oscar_forks.partner.models import StockRecord

        rng = random.Random(2020)
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
            for i in range(PRODUCTS)
        )
        StockRecord.objects.bulk_create(
            StockRecord(
                product=p,
                partner=partner,
                partner_sku=p.upc,
                price=Decimal("1.50"),
                cost_price=Decimal("0.80"),
                num_in_stock=100,
            )
            for p in products
        )
        GroceryDiets.objects.bulk_create(
            GroceryDiets(product=p, **dict.fromkeys(Diet.values, True)) for p in products
        )
        theme = BasketTheme.objects.create(name="Essentiel", slug="essentiel", min_components=40)
        basket_class = basket_product_class()
        for v in range(VARIANTS):
            parent = Product.objects.create(
                title=f"Panier {v}",
                upc=f"P{v:04d}",
                product_class=basket_class,
                structure=Product.PARENT,
                is_public=True,
            )
            basket = ThemedBasket.objects.create(product=parent, theme=theme)
            child = Product.objects.create(
                title=f"Panier {v} 2p",
                upc=f"P{v:04d}-2",
                parent=parent,
                structure=Product.CHILD,
                is_public=True,
            )
            variant = BasketVariant.objects.create(product=child, themed_basket=basket, persons=2)
            BasketComponent.objects.bulk_create(
                BasketComponent(variant=variant, product=p, quantity=1)
                for p in rng.sample(products, COMPONENTS)
            )
        basket_variants_check(variant_ids=BasketVariant.objects.values_list("pk", flat=True))

        # A cost import of every product: +10 % each, and a few big rises that break baskets.
        rows = tablib.Dataset(headers=["sku", "title", "price_incl_tax", "cost_price", "diets"])
        for i, p in enumerate(products):
            cost = Decimal("0.88") if i % 250 else Decimal("40.00")
            rows.append([p.upc, "", "1.50", str(cost), ""])
        start = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx(
                "GroceryCostResource().import_data(rows, dry_run=True)",
                globals(),
                locals(),
                sort="cumtime",
            )
        result = GroceryCostResource().import_data(rows, dry_run=False)
        imported = time.perf_counter() - start
        if result.has_errors() or result.has_validation_errors():
            raise SystemExit("the benchmark import failed")
        withdrawn = BasketVariant.objects.filter(product__is_public=False).count()

        ids = list(BasketVariant.objects.values_list("pk", flat=True))
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            basket_variants_check(variant_ids=ids)
            recheck = time.perf_counter() - start

        print(f"cost import of {PRODUCTS} rows (one re-check at the end): {imported:6.2f} s")
        print(f"  baskets withdrawn by the new costs: {withdrawn} of {VARIANTS}")
        print(
            f"re-check of all {VARIANTS} variants × {COMPONENTS} components: "
            f"{recheck * 1000:6.0f} ms, {len(ctx.captured_queries)} queries"
        )
        print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
