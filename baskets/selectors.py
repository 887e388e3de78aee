"""Reads for baskets: the facts the rules need, in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Subquery
from oscar.apps.catalogue.models import ProductAttributeValue

from baskets.models import BasketComponent, Diet
from baskets.product_classes import GROCERY_CLASS_SLUG
from baskets.rules import ComponentFacts
from essentiels.oscar_forks.partner.models import StockRecord

_DIET_FIELDS = [f"product__grocery_diets__{code}" for code in Diet.values]


def first_stockrecord(product_ref: OuterRef | str = "product"):
    """The stock record Oscar's strategy uses (UseFirstStockRecord): the lowest id."""
    return StockRecord.objects.filter(product=OuterRef(product_ref)).order_by("pk")


def component_facts_for_variants(*, variant_ids: Iterable[int]) -> dict[int, list[ComponentFacts]]:
    """``{variant_id: [ComponentFacts, …]}`` for the given variants, in two queries."""
    rows = (
        BasketComponent.objects.filter(variant_id__in=list(variant_ids))
        .annotate(
            cost=Subquery(first_stockrecord().values("cost_price")[:1]),
            stocked=Exists(first_stockrecord()),
        )
        .values(
            "id",
            "variant_id",
            "product_id",
            "product__title",
            "product__is_public",
            "product__product_class__slug",
            "quantity",
            "cost",
            "stocked",
            *_DIET_FIELDS,
        )
        .order_by("variant_id", "id")
    )
    rows = list(rows)
    pack_sizes = dict(
        ProductAttributeValue.objects.filter(
            product_id__in={row["product_id"] for row in rows}, attribute__code="pack_size"
        ).values_list("product_id", "value_text")
    )
    facts: dict[int, list[ComponentFacts]] = defaultdict(list)
    for row in rows:
        facts[row["variant_id"]].append(
            ComponentFacts(
                product_id=row["product_id"],
                title=row["product__title"],
                quantity=row["quantity"],
                cost_price=row["cost"],
                diets=frozenset(
                    code for code, fld in zip(Diet.values, _DIET_FIELDS, strict=True) if row[fld]
                ),
                in_assortment=bool(
                    row["product__is_public"]
                    and row["stocked"]
                    and row["product__product_class__slug"] == GROCERY_CLASS_SLUG
                ),
                pack_size=pack_sizes.get(row["product_id"]) or "",
            )
        )
    return facts


def grocery_facts(*, product_ids: Iterable[int]) -> dict[int, ComponentFacts]:
    """Facts of grocery products not (yet) in a composition, e.g. lines of an admin form being
    edited: ``{product_id: ComponentFacts}`` with quantity 1."""
    from oscar.apps.catalogue.models import Product

    products = (
        Product.objects.filter(pk__in=list(product_ids))
        .select_related("product_class", "grocery_diets")
        .annotate(
            cost=Subquery(first_stockrecord("pk").values("cost_price")[:1]),
            stocked=Exists(first_stockrecord("pk")),
        )
    )
    result = {}
    for product in products:
        diets_row = getattr(product, "grocery_diets", None)
        result[product.pk] = ComponentFacts(
            product_id=product.pk,
            title=product.title,
            quantity=1,
            cost_price=product.cost,
            diets=diets_row.diets if diets_row else frozenset(),
            in_assortment=bool(
                product.is_public
                and product.stocked
                and product.product_class
                and product.product_class.slug == GROCERY_CLASS_SLUG
            ),
        )
    return result


def variant_ids_containing(*, product_ids: Iterable[int]) -> list[int]:
    return list(
        BasketComponent.objects.filter(product_id__in=list(product_ids))
        .values_list("variant_id", flat=True)
        .distinct()
    )


def variant_ids_matching(*, theme_ids=(), themed_basket_ids=()) -> list[int]:
    from baskets.models import BasketVariant

    return list(
        BasketVariant.objects.filter(
            Q(themed_basket__theme_id__in=list(theme_ids))
            | Q(themed_basket_id__in=list(themed_basket_ids))
        ).values_list("pk", flat=True)
    )


def selling_price(*, product_id: int) -> Decimal | None:
    record = StockRecord.objects.filter(product_id=product_id).order_by("pk").first()
    return record.price if record else None


def variants_withdrawn_since(*, since) -> list:
    """Variants a rule took off sale at or after ``since`` (to tell the staff who caused it)."""
    from baskets.models import BasketVariant

    return list(
        BasketVariant.objects.filter(withdrawn_at__gte=since, product__is_public=False)
        .select_related("product")
        .order_by("pk")
    )
