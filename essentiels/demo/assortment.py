"""The demo grocery assortment: categories, products, one partner's stock records.

Source: ``data/assortment.csv`` beside this file (believable 2026 French supermarket prices).
Loading is idempotent: every row is keyed by its SKU (the product's UPC and the stock record's
partner SKU), so loading twice updates rows in place and creates nothing twice.
Each stock record gets the row's cost price; each product its diet compatibilities.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from oscar.apps.catalogue.categories import create_from_breadcrumbs
from oscar.apps.catalogue.models import (
    Product,
    ProductAttribute,
    ProductAttributeValue,
    ProductCategory,
    ProductClass,
)

from baskets.models import Diet, GroceryDiets
from baskets.product_classes import GROCERY_CLASS_SLUG
from baskets.services.rules import rules_deferred
from essentiels.oscar_forks.partner.models import Partner, StockRecord

ASSORTMENT_CSV = Path(__file__).parent / "data" / "assortment.csv"
CENTS = Decimal("0.01")

PARTNER_NAME = "Les Essentiels"
# Units on hand for each demo product (a fresh delivery from the warehouse).
DEMO_STOCK = 500


@dataclass(frozen=True)
class AssortmentRow:
    sku: str
    category: str
    name: str
    brand: str
    pack_size: str
    price_incl_tax: Decimal
    cost_price: Decimal
    vat_rate: Decimal
    diets: frozenset[str]
    description: str


def assortment_rows(*, path: Path = ASSORTMENT_CSV) -> list[AssortmentRow]:
    """Parse the assortment file, money as Decimal quantized to the cent."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            AssortmentRow(
                sku=row["sku"].strip(),
                category=row["category"].strip(),
                name=row["name"].strip(),
                brand=row["brand"].strip(),
                pack_size=row["pack_size"].strip(),
                price_incl_tax=Decimal(row["price_incl_tax"]).quantize(CENTS),
                cost_price=Decimal(row["cost_price"]).quantize(CENTS),
                vat_rate=Decimal(row["vat_rate"]),
                diets=frozenset(d for d in row["diets"].split(";") if d),
                description=row["description"].strip(),
            )
            for row in csv.DictReader(handle)
        ]


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0


@transaction.atomic
def assortment_load(*, rows: list[AssortmentRow] | None = None) -> LoadReport:
    """Create or update the demo assortment. Safe to run any number of times."""
    rows = assortment_rows() if rows is None else rows
    partner, _ = Partner.objects.get_or_create(name=PARTNER_NAME)
    grocery_class, _ = ProductClass.objects.get_or_create(
        slug=GROCERY_CLASS_SLUG,
        defaults={"name": "Produit d'épicerie", "requires_shipping": True, "track_stock": True},
    )
    attributes = {
        code: ProductAttribute.objects.get_or_create(
            product_class=grocery_class, code=code, defaults={"name": name, "type": "text"}
        )[0]
        for code, name in (("brand", "Marque"), ("pack_size", "Conditionnement"))
    }
    categories = {path: create_from_breadcrumbs(path) for path in {row.category for row in rows}}

    report = LoadReport()
    with rules_deferred():  # one basket re-check at the end, not one per row
        for row in rows:
            _row_load(
                row,
                grocery_class=grocery_class,
                partner=partner,
                attributes=attributes,
                category=categories[row.category],
                report=report,
            )
    return report


def _row_load(
    row: AssortmentRow, *, grocery_class, partner, attributes, category, report: LoadReport
) -> None:
    product, created = Product.objects.update_or_create(
        upc=row.sku,
        defaults={
            "title": row.name,
            "description": row.description,
            "product_class": grocery_class,
            "structure": Product.STANDALONE,
            "is_public": True,
        },
    )
    report.created += created
    report.updated += not created
    ProductCategory.objects.get_or_create(product=product, category=category)
    GroceryDiets.objects.update_or_create(
        product=product, defaults={code: code in row.diets for code in Diet.values}
    )
    for code, value in (("brand", row.brand), ("pack_size", row.pack_size)):
        ProductAttributeValue.objects.update_or_create(
            product=product, attribute=attributes[code], defaults={"value_text": value}
        )
    StockRecord.objects.update_or_create(
        partner=partner,
        partner_sku=row.sku,
        defaults={
            "product": product,
            "price_currency": "EUR",
            "price": row.price_incl_tax,
            "cost_price": row.cost_price,
        },
        # Stock moves with orders: a re-run must not reset it.
        create_defaults={
            "product": product,
            "price_currency": "EUR",
            "price": row.price_incl_tax,
            "cost_price": row.cost_price,
            "num_in_stock": DEMO_STOCK,
        },
    )
