"""The demo's themed baskets: every theme, several household sizes, all valid under the rules.

Quantities are per person for a week; a household of N gets ``ceil(quantity × N)`` units, so
staples such as salt (0.1 per person) stay one pack. Selling prices derive from the composition
cost: cost × 1.30 margin × 1.055 VAT, rounded up to the next x.90 euros.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal

from django.db import transaction

from baskets.models import BasketTheme, BasketVariant
from baskets.services.catalogue import (
    basket_variant_compose,
    basket_variant_save,
    themed_basket_save,
)
from baskets.services.rules import basket_variant_publish
from essentiels.oscar_forks.partner.models import StockRecord

THEMES = [
    # slug, name, minimum distinct products, description
    (
        "essentiel",
        "Essentiel",
        40,
        "Trois repas par jour pendant une semaine, avec 40 produits différents au moins.",
    ),
    (
        "fruits-legumes",
        "Fruits & légumes",
        12,
        "Des fruits et légumes de saison pour toute la semaine.",
    ),
    ("fromages", "Fromages de nos régions", 6, "Un tour de France des fromages AOP et fermiers."),
    ("plats-cuisines", "Plats cuisinés", 8, "Des plats prêts à réchauffer pour les soirs pressés."),
    ("enfants", "Enfants", 10, "Petits déjeuners, goûters et repas pour les plus jeunes."),
]

_ESSENTIEL_BASE = {
    "EPS-001": 1,
    "EPS-003": 1,
    "EPS-005": 0.5,
    "EPS-009": 0.5,
    "EPS-012": 0.25,
    "EPS-013": 0.5,
    "EPS-014": 0.25,
    "EPS-017": 0.1,
    "EPS-019": 0.1,
    "EPS-020": 0.25,
    "EPS-027": 1,
    "EPU-001": 0.25,
    "EPU-003": 0.5,
    "EPU-009": 0.5,
    "EPU-013": 0.5,
    "CON-001": 2,
    "CON-005": 1,
    "CON-008": 1,
    "CON-012": 0.5,
    "CRE-001": 1,
    "CRE-013": 1,
    "CRE-011": 0.5,
    "FLG-002": 1,
    "FLG-003": 1,
    "FLG-009": 1,
    "FLG-010": 0.5,
    "FLG-011": 0.5,
    "FLG-012": 0.25,
    "FLG-015": 1,
    "FLG-016": 1,
    "FLG-017": 1,
    "SUR-003": 0.5,
    "SUR-006": 0.5,
    "BOI-001": 1,
    "BOI-011": 0.25,
    "EPU-018": 0.5,
}

BASKETS = [
    {
        "upc": "PAN-ESS",
        "title": "Panier Essentiel",
        "theme": "essentiel",
        "diets": set(),
        "description": "Tout l'essentiel de la semaine : féculents, légumes, protéines, "
        "produits laitiers, fruits et petit déjeuner.",
        "sizes": [2, 3, 4],
        "components": {
            **_ESSENTIEL_BASE,
            "CON-014": 0.5,
            "CRE-004": 1,
            "CRE-007": 0.5,
            "FRO-013": 0.5,
            "BOU-008": 1,
            "BOU-012": 0.5,
            "BOU-001": 0.5,
        },
    },
    {
        "upc": "PAN-ESS-VEG",
        "title": "Panier Essentiel végétarien",
        "theme": "essentiel",
        "diets": {"vegetarian"},
        "description": "L'essentiel de la semaine sans viande ni poisson, riche en légumineuses.",
        "sizes": [2, 3, 4],
        "components": {
            **_ESSENTIEL_BASE,
            "CON-010": 1,
            "CON-009": 1,
            "CRE-004": 1,
            "CRE-007": 0.5,
            "FRO-013": 0.5,
            "FRO-014": 0.5,
            "BOU-018": 0.5,
            "EPS-010": 0.25,
        },
    },
    {
        "upc": "PAN-ESS-HAL",
        "title": "Panier Essentiel halal",
        "theme": "essentiel",
        "diets": {"halal", "no_pork"},
        "description": "L'essentiel de la semaine avec viandes certifiées halal.",
        "sizes": [2, 3, 4],
        "components": {
            **_ESSENTIEL_BASE,
            "BOU-011": 0.5,
            "BOU-015": 0.25,
            "CON-014": 0.5,
            "CRE-004": 1,
            "EPS-007": 0.25,
            "EPS-024": 0.1,
            "BOI-012": 0.25,
        },
    },
    {
        "upc": "PAN-FL",
        "title": "Panier Fruits & légumes",
        "theme": "fruits-legumes",
        "diets": {"vegetarian", "vegan", "halal", "no_pork", "gluten_free", "lactose_free"},
        "description": "Quinze fruits et légumes de saison, à cuisiner toute la semaine.",
        "sizes": [1, 2, 4],
        "components": {
            "FLG-001": 0.5,
            "FLG-003": 0.5,
            "FLG-005": 0.5,
            "FLG-006": 0.5,
            "FLG-007": 0.25,
            "FLG-008": 0.5,
            "FLG-009": 0.5,
            "FLG-010": 0.5,
            "FLG-011": 0.25,
            "FLG-014": 0.5,
            "FLG-015": 0.5,
            "FLG-016": 0.5,
            "FLG-017": 0.5,
            "FLG-020": 0.5,
            "FLG-023": 0.25,
        },
    },
    {
        "upc": "PAN-FRO",
        "title": "Panier Fromages de nos régions",
        "theme": "fromages",
        "diets": {"no_pork", "gluten_free"},
        "description": "Huit fromages de nos terroirs, du Jura aux Pyrénées, et leur baguette.",
        "sizes": [2, 4],
        "components": {
            "FRO-001": 0.25,
            "FRO-002": 0.25,
            "FRO-004": 0.25,
            "FRO-006": 0.25,
            "FRO-007": 0.25,
            "FRO-009": 0.25,
            "FRO-011": 0.25,
            "FRO-014": 0.25,
            "FLG-017": 0.5,
            "FLG-006": 0.25,
        },
    },
    {
        "upc": "PAN-PLC",
        "title": "Panier Plats cuisinés",
        "theme": "plats-cuisines",
        "diets": {"no_pork"},
        "description": "Dix plats prêts à réchauffer, de la blanquette au chili sin carne.",
        "sizes": [1, 2],
        "components": {
            "PLC-001": 1,
            "PLC-002": 1,
            "PLC-005": 1,
            "PLC-006": 0.5,
            "PLC-007": 1,
            "PLC-008": 1,
            "PLC-009": 1,
            "PLC-012": 1,
            "PLC-013": 0.5,
            "PLC-016": 0.5,
            "FLG-017": 0.5,
            "CRE-004": 0.5,
        },
    },
    {
        "upc": "PAN-ENF",
        "title": "Panier Enfants",
        "theme": "enfants",
        "diets": {"vegetarian"},
        "description": "Petits déjeuners, goûters et repas adaptés aux enfants.",
        "sizes": [1, 2, 3],
        "components": {
            "BEB-004": 0.5,
            "BEB-006": 1,
            "BEB-009": 0.5,
            "BEB-010": 0.25,
            "BEB-011": 0.5,
            "CRE-008": 0.5,
            "EPS-002": 0.5,
            "FLG-003": 0.5,
            "FLG-005": 0.25,
            "CON-007": 0.25,
            "CRE-015": 0.5,
            "FRO-013": 0.25,
            "BOI-004": 0.5,
        },
    },
]

MARGIN = Decimal("1.30")
VAT = Decimal("1.055")


def household_quantity(*, per_person: float, persons: int) -> int:
    return max(1, math.ceil(per_person * persons - 1e-9))


def shelf_price(*, cost: Decimal) -> Decimal:
    """Cost × margin × VAT, rounded up to the next x.90 euros."""
    raw = cost * MARGIN * VAT
    return (raw - Decimal("0.90")).to_integral_value(rounding=ROUND_CEILING) + Decimal("0.90")


@transaction.atomic
def baskets_load_demo() -> int:
    """Create or update the demo themes and baskets, publish every variant. Returns how many
    variants were saved. Idempotent."""
    themes = {}
    for position, (slug, name, minimum, description) in enumerate(THEMES):
        themes[slug], _ = BasketTheme.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "min_components": minimum,
                "description": description,
                "position": position,
            },
        )
    product_ids = dict(
        StockRecord.objects.filter(
            partner_sku__in={sku for spec in BASKETS for sku in spec["components"]}
        ).values_list("partner_sku", "product_id")
    )
    costs = dict(
        StockRecord.objects.filter(partner_sku__in=product_ids).values_list(
            "partner_sku", "cost_price"
        )
    )
    saved = 0
    for spec in BASKETS:
        basket = themed_basket_save(
            upc=spec["upc"],
            title=spec["title"],
            theme=themes[spec["theme"]],
            description=spec["description"],
            diets=frozenset(spec["diets"]),
        )
        for persons in spec["sizes"]:
            quantities = {
                product_ids[sku]: household_quantity(per_person=q, persons=persons)
                for sku, q in spec["components"].items()
            }
            cost = sum(
                (costs[sku] * quantities[product_ids[sku]] for sku in spec["components"]),
                Decimal("0"),
            )
            variant = basket_variant_save(
                themed_basket=basket, persons=persons, price=shelf_price(cost=cost)
            )
            basket_variant_compose(variant=variant, quantities=quantities)
            basket_variant_publish(variant_id=variant.pk)
            saved += 1
    return saved


def demo_variants():
    return BasketVariant.objects.filter(product__upc__startswith="PAN-")
