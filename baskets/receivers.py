"""Re-check baskets whenever something their rules depend on changes, wherever it changes
(Django admin, Oscar's dashboard, imports, code), inside the same transaction: a cost rise that
breaks a published basket withdraws it before anyone can buy it at a loss."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from oscar.apps.catalogue.models import (
    Category,
    Product,
    ProductAttributeValue,
    ProductCategory,
    ProductClass,
)
from oscar.apps.order.signals import order_placed

from baskets.models import (
    BasketComponent,
    BasketTheme,
    BasketVariant,
    GroceryDiets,
    GroceryProduct,
    ThemedBasket,
)
from baskets.page_cache import storefront_pages_changed
from baskets.selectors import variant_ids_containing, variant_ids_matching
from baskets.services.basket_changes import variant_changes_collect
from baskets.services.rules import basket_variants_recheck
from essentiels.oscar_forks.partner.models import StockRecord


def _recheck_containing(product_ids) -> None:
    basket_variants_recheck(variant_ids=variant_ids_containing(product_ids=product_ids))


@receiver(post_save, sender=StockRecord, dispatch_uid="baskets.stockrecord_saved")
@receiver(post_delete, sender=StockRecord, dispatch_uid="baskets.stockrecord_deleted")
def stockrecord_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        _recheck_containing([instance.product_id])


@receiver(post_save, sender=GroceryDiets, dispatch_uid="baskets.grocery_diets_saved")
def grocery_diets_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        _recheck_containing([instance.product_id])


# Django sends a proxy's saves with the proxy as sender: the assortment admin saves
# GroceryProduct, so both are listened to.
@receiver(post_save, sender=Product, dispatch_uid="baskets.product_saved")
@receiver(post_save, sender=GroceryProduct, dispatch_uid="baskets.grocery_product_saved")
def product_changed(sender, instance, raw=False, created=False, **kwargs):
    if raw or created:
        return
    if instance.product_class_id:
        # A grocery product taken out of the assortment (unpublished) breaks its baskets.
        _recheck_containing([instance.pk])
    elif instance.is_public and instance.parent_id:
        # A basket size published by hand (Oscar's dashboard, the product admin) is checked
        # too, and withdrawn again if it breaks a rule.
        basket_variants_recheck(
            variant_ids=BasketVariant.objects.filter(product_id=instance.pk).values_list(
                "pk", flat=True
            )
        )


@receiver(post_save, sender=ThemedBasket, dispatch_uid="baskets.themed_basket_saved")
def themed_basket_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        basket_variants_recheck(variant_ids=variant_ids_matching(themed_basket_ids=[instance.pk]))


@receiver(post_save, sender=BasketTheme, dispatch_uid="baskets.theme_saved")
def theme_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        basket_variants_recheck(variant_ids=variant_ids_matching(theme_ids=[instance.pk]))


@receiver(post_save, sender=BasketComponent, dispatch_uid="baskets.component_saved")
@receiver(post_delete, sender=BasketComponent, dispatch_uid="baskets.component_deleted")
def component_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        basket_variants_recheck(variant_ids=[instance.variant_id])


# --- Subscribers told of a price or composition change (baskets.services.basket_changes) --------


def _notices_enqueue(variant_id: int) -> None:
    from baskets.tasks import variant_change_notices_task

    variant_change_notices_task.delay(variant_id=variant_id)


@receiver(post_save, sender=StockRecord, dispatch_uid="baskets.stockrecord_saved_notices")
@receiver(post_delete, sender=StockRecord, dispatch_uid="baskets.stockrecord_deleted_notices")
def stockrecord_changed_notices(sender, instance, raw=False, **kwargs):
    # A basket variant's price is its stock record's; most stock records are groceries', which
    # are told apart from variants in one query at commit, not here.
    if not raw:
        variant_changes_collect(enqueue=_notices_enqueue, product_ids=[instance.product_id])


@receiver(post_save, sender=BasketComponent, dispatch_uid="baskets.component_saved_notices")
@receiver(post_delete, sender=BasketComponent, dispatch_uid="baskets.component_deleted_notices")
def component_changed_notices(sender, instance, raw=False, **kwargs):
    if not raw:
        variant_changes_collect(enqueue=_notices_enqueue, variant_ids=[instance.variant_id])


@receiver(order_placed, dispatch_uid="baskets.order_line_costs")
def order_line_costs_record(sender, order, **kwargs):
    from baskets.services.orders import order_line_costs_record as record

    record(order=order)


# --- Cached storefront pages (baskets.page_cache): rendered again once a change commits ---------


def _product_pages(product) -> dict:
    if product.structure == Product.STANDALONE:
        # A grocery: its title (and, through the rules, its publication) on its baskets' pages.
        return {"component_products": [product.pk]}
    # A basket (parent) or one of its sizes (child): title, description, slug, publication.
    return {"baskets": [product.parent_id or product.pk]}


# What a save or a delete of each model changes on the pages. Oscar's Product is also saved
# through its proxy GroceryProduct (the assortment's admin), which is then the signal's sender.
_PAGES_CHANGED_BY = {
    Product: _product_pages,
    GroceryProduct: _product_pages,
    # A size's price and availability; a grocery's stock record is not shown (when it breaks a
    # rule, the re-check above withdraws the basket, and the rules service says so).
    StockRecord: lambda record: {"variant_products": [record.product_id]},
    BasketVariant: lambda variant: {"themed_baskets": [variant.themed_basket_id]},
    ThemedBasket: lambda basket: {"baskets": [basket.product_id]},
    BasketTheme: lambda theme: {"themes": [theme.pk]},
    BasketComponent: lambda component: {"composition_of": [component.variant_id]},
    # A component's pack size or brand, and its aisle (first category).
    ProductAttributeValue: lambda value: {"component_products": [value.product_id]},
    ProductCategory: lambda link: {"component_products": [link.product_id]},
    # Categories are in every page's navigation; a product class decides whether stock is
    # tracked (availability).
    Category: lambda _category: {"everything": True},
    ProductClass: lambda _product_class: {"everything": True},
}


def _pages_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        storefront_pages_changed(**_PAGES_CHANGED_BY[sender](instance))


for _model in _PAGES_CHANGED_BY:
    post_save.connect(
        _pages_changed, sender=_model, dispatch_uid=f"baskets.pages.{_model.__name__}"
    )
    post_delete.connect(
        _pages_changed, sender=_model, dispatch_uid=f"baskets.pages.del.{_model.__name__}"
    )
