"""Builders for tests and benchmarks: grocery products with a cost, diets and pack size; themed
baskets with household-size variants, composed and published through the real services (so the
rules run exactly as in production)."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from decimal import Decimal

from oscar.apps.catalogue.categories import create_from_breadcrumbs
from oscar.apps.catalogue.models import Product, ProductAttribute, ProductCategory
from oscar.test.factories import create_product

from baskets.models import BasketTheme, Diet, GroceryDiets, ThemedBasket
from baskets.services.catalogue import (
    basket_variant_compose,
    basket_variant_save,
    grocery_product_class,
    shop_partner,
    themed_basket_save,
)
from baskets.services.rules import basket_variant_publish
from essentiels.oscar_forks.partner.models import StockRecord

ALL_DIETS = frozenset(Diet.values)
_seq = itertools.count(1)


def grocery_create(
    *,
    title: str = "",
    cost: str | Decimal | None = "1.00",
    price: str | Decimal = "2.00",
    diets: Collection[str] = ALL_DIETS,
    pack_size: str = "500 g",
    brand: str = "Les Essentiels",
    category: str = "",
    is_public: bool = True,
) -> Product:
    """A grocery product (component of baskets): stock record with price and cost price, diets
    it is compatible with, and Oscar attributes ``pack_size`` and ``brand``."""
    n = next(_seq)
    product_class = grocery_product_class()
    product = create_product(
        upc=f"G-{n:06d}",
        title=title or f"Produit {n}",
        product_class=product_class.name,
        is_public=is_public,
    )
    for code, name, value in (
        ("pack_size", "Conditionnement", pack_size),
        ("brand", "Marque", brand),
    ):
        if value:
            attribute, _ = ProductAttribute.objects.get_or_create(
                product_class=product_class,
                code=code,
                defaults={"name": name, "type": ProductAttribute.TEXT},
            )
            attribute.save_value(product, value)
    StockRecord.objects.create(
        product=product,
        partner=shop_partner(),
        partner_sku=f"G-{n:06d}",
        price=Decimal(price),
        price_currency="EUR",
        cost_price=None if cost is None else Decimal(cost),
        num_in_stock=1000,
    )
    GroceryDiets.objects.create(product=product, **{code: code in diets for code in Diet.values})
    if category:
        ProductCategory.objects.create(product=product, category=create_from_breadcrumbs(category))
    return product


def groceries_create(*, count: int, **kwargs) -> list[Product]:
    return [grocery_create(**kwargs) for _ in range(count)]


def basket_theme_create(
    *, name: str = "", slug: str = "", min_components: int = 1, position: int = 0
) -> BasketTheme:
    n = next(_seq)
    return BasketTheme.objects.create(
        name=name or f"Thème {n}",
        slug=slug or f"theme-{n}",
        min_components=min_components,
        position=position,
    )


def themed_basket_create(
    *,
    components: Mapping[Product, int],
    sizes: Mapping[int, str | Decimal] | None = None,
    title: str = "",
    theme: BasketTheme | None = None,
    diets: Collection[str] = (),
    days: int = 7,
    description: str = "",
    publish: bool = True,
) -> ThemedBasket:
    """A themed basket with one variant per household size (``{persons: selling price}``,
    default ``{2: "60.00"}``). ``components`` gives quantities per person: the variant for N
    persons holds N times each, so every size costs the same per person-day."""
    n = next(_seq)
    basket = themed_basket_save(
        upc=f"B-{n:06d}",
        title=title or f"Panier {n}",
        theme=theme or basket_theme_create(),
        description=description,
        days=days,
        diets=frozenset(diets),
    )
    for persons, price in (sizes or {2: "60.00"}).items():
        variant = basket_variant_save(themed_basket=basket, persons=persons, price=Decimal(price))
        basket_variant_compose(
            variant=variant,
            quantities={product.pk: qty * persons for product, qty in components.items()},
        )
        if publish:
            basket_variant_publish(variant_id=variant.pk)
    basket.refresh_from_db()
    return basket
