"""Builders for basket tests: grocery products with a cost and diets, themed baskets."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from oscar.apps.catalogue.models import Product

from baskets.models import BasketTheme, BasketVariant, Diet, GroceryDiets
from baskets.services.catalogue import (
    basket_variant_compose,
    basket_variant_save,
    grocery_product_class,
    shop_partner,
    themed_basket_save,
)
from baskets.services.rules import basket_variant_publish
from essentiels.oscar_forks.partner.models import StockRecord

_seq = itertools.count(1)
ALL_DIETS = frozenset(Diet.values)


def make_grocery(
    title: str = "",
    *,
    cost: str | None = "1.00",
    price: str = "2.00",
    diets=ALL_DIETS,
    is_public: bool = True,
) -> Product:
    n = next(_seq)
    product = Product.objects.create(
        title=title or f"Produit {n}",
        upc=f"T-{n:05d}",
        product_class=grocery_product_class(),
        structure=Product.STANDALONE,
        is_public=is_public,
    )
    StockRecord.objects.create(
        product=product,
        partner=shop_partner(),
        partner_sku=f"T-{n:05d}",
        price=Decimal(price),
        cost_price=None if cost is None else Decimal(cost),
        num_in_stock=100,
    )
    GroceryDiets.objects.create(product=product, **{code: code in diets for code in Diet.values})
    return product


def make_theme(name: str = "", *, minimum: int = 1) -> BasketTheme:
    n = next(_seq)
    return BasketTheme.objects.create(
        name=name or f"Thème {n}", slug=f"theme-{n}", min_components=minimum
    )


def make_variant(
    *,
    components: dict[Product, int],
    persons: int = 2,
    days: int = 7,
    diets=frozenset(),
    theme: BasketTheme | None = None,
    price: str = "60.00",
    publish: bool = True,
) -> BasketVariant:
    n = next(_seq)
    basket = themed_basket_save(
        upc=f"B-{n:05d}",
        title=f"Panier {n}",
        theme=theme or make_theme(),
        days=days,
        diets=frozenset(diets),
    )
    variant = basket_variant_save(themed_basket=basket, persons=persons, price=Decimal(price))
    basket_variant_compose(
        variant=variant, quantities={product.pk: qty for product, qty in components.items()}
    )
    if publish:
        basket_variant_publish(variant_id=variant.pk)
    variant.refresh_from_db()
    return variant


@pytest.fixture
def grocery():
    return make_grocery


@pytest.fixture
def variant_of():
    return make_variant
