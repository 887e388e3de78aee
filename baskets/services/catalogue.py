"""Creating baskets and their variants as Oscar products, and composing them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.db import transaction
from oscar.apps.catalogue.models import Product, ProductClass

from baskets.models import BasketComponent, BasketTheme, BasketVariant, Diet, ThemedBasket
from baskets.page_cache import storefront_pages_changed
from baskets.product_classes import BASKET_CLASS_SLUG, GROCERY_CLASS_SLUG
from baskets.rules import ComponentFacts, RuleReport, rules_evaluate
from baskets.selectors import grocery_facts
from baskets.services.rules import BasketRuleError, basket_variants_check
from baskets.services.subscribe import subscription_option_attach
from essentiels.oscar_forks.partner.models import Partner, StockRecord

SHOP_PARTNER_NAME = "Les Essentiels"


def basket_product_class() -> ProductClass:
    # Baskets are assembled to order from components whose supply is tracked ([Supply]).
    product_class, _ = ProductClass.objects.get_or_create(
        slug=BASKET_CLASS_SLUG,
        defaults={"name": "Panier", "requires_shipping": True, "track_stock": False},
    )
    # « Chaque semaine » / « Une seule fois » on the add-to-cart form (an Oscar option).
    subscription_option_attach(product_class=product_class)
    return product_class


def grocery_product_class() -> ProductClass:
    product_class, _ = ProductClass.objects.get_or_create(
        slug=GROCERY_CLASS_SLUG,
        defaults={"name": "Produit d'épicerie", "requires_shipping": True, "track_stock": True},
    )
    return product_class


def shop_partner() -> Partner:
    return Partner.objects.get_or_create(name=SHOP_PARTNER_NAME)[0]


def variant_title(*, basket_title: str, persons: int) -> str:
    return f"{basket_title} — {persons} pers."


@transaction.atomic
def themed_basket_save(
    *,
    upc: str,
    title: str,
    theme: BasketTheme,
    description: str = "",
    days: int = 7,
    diets: frozenset[str] = frozenset(),
) -> ThemedBasket:
    """Create or update a themed basket (an Oscar parent product) keyed by its UPC."""
    product, _ = Product.objects.update_or_create(
        upc=upc,
        defaults={
            "title": title,
            "description": description,
            "structure": Product.PARENT,
            "product_class": basket_product_class(),
        },
        create_defaults={
            "title": title,
            "description": description,
            "structure": Product.PARENT,
            "product_class": basket_product_class(),
            # Published with its first valid variant (basket_variant_publish).
            "is_public": False,
        },
    )
    basket, _ = ThemedBasket.objects.update_or_create(
        product=product,
        defaults={"theme": theme, "days": days, **{code: code in diets for code in Diet.values}},
    )
    return basket


@transaction.atomic
def basket_variant_save(
    *,
    themed_basket: ThemedBasket,
    persons: int,
    price: Decimal,
    variant: BasketVariant | None = None,
) -> BasketVariant:
    """Create or update the household-size variant (an Oscar child product) and its price.
    An existing ``variant`` keeps its product and reference when its size changes."""
    parent = themed_basket.product
    upc = variant.product.upc if variant is not None else f"{parent.upc}-{persons}P"
    product, _ = Product.objects.update_or_create(
        upc=upc,
        defaults={
            "parent": parent,
            "structure": Product.CHILD,
            "title": variant_title(basket_title=parent.title, persons=persons),
        },
        create_defaults={
            "parent": parent,
            "structure": Product.CHILD,
            "title": variant_title(basket_title=parent.title, persons=persons),
            "is_public": False,
        },
    )
    StockRecord.objects.update_or_create(
        partner=shop_partner(),
        partner_sku=upc,
        defaults={"product": product, "price": price, "price_currency": "EUR"},
    )
    saved, _ = BasketVariant.objects.update_or_create(
        product=product, defaults={"themed_basket": themed_basket, "persons": persons}
    )
    return saved


def composition_evaluate(
    *,
    themed_basket: ThemedBasket,
    persons: int,
    lines: Sequence[tuple[int, int]],
) -> RuleReport:
    """The rules for a composition that is not saved yet (an admin form, an import)."""
    facts = grocery_facts(product_ids={product_id for product_id, _ in lines})
    components = [
        ComponentFacts(
            product_id=product_id,
            title=facts[product_id].title if product_id in facts else str(product_id),
            quantity=quantity,
            cost_price=facts[product_id].cost_price if product_id in facts else None,
            diets=facts[product_id].diets if product_id in facts else frozenset(),
            in_assortment=product_id in facts and facts[product_id].in_assortment,
        )
        for product_id, quantity in lines
    ]
    return rules_evaluate(
        components=components,
        persons=persons,
        days=themed_basket.days,
        min_components=themed_basket.theme.min_components,
        theme=themed_basket.theme.name,
        diets=themed_basket.diets,
    )


@transaction.atomic
def basket_variant_compose(*, variant: BasketVariant, quantities: Mapping[int, int]) -> RuleReport:
    """Replace a variant's composition ({product_id: quantity}). Refuses, writing nothing, when
    the result would break a rule."""
    report = composition_evaluate(
        themed_basket=variant.themed_basket, persons=variant.persons, lines=list(quantities.items())
    )
    if not report.ok:
        raise BasketRuleError(report.problems)
    variant.components.exclude(product_id__in=list(quantities)).delete()
    existing = {c.product_id: c for c in variant.components.all()}
    BasketComponent.objects.bulk_create(
        [
            BasketComponent(variant=variant, product_id=product_id, quantity=quantity)
            for product_id, quantity in quantities.items()
            if product_id not in existing
        ]
    )
    changed = [c for pid, c in existing.items() if c.quantity != quantities[pid]]
    for component in changed:
        component.quantity = quantities[component.product_id]
    BasketComponent.objects.bulk_update(changed, ["quantity"])
    storefront_pages_changed(composition_of=[variant.pk])  # bulk writes send no signal
    return basket_variants_check(variant_ids=[variant.pk])[variant.pk]
