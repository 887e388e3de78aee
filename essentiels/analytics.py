"""Race-safe replacements for Oscar's analytics counters.

Oscar's ``_update_counter`` tries ``UPDATE``, then ``INSERT`` when no row exists. Two concurrent
*first* views of a product both insert; the loser's ``IntegrityError`` aborts the request's
transaction (``ATOMIC_REQUESTS``), and its retry then fails with "current transaction is aborted":
measured as HTTP 500 on 2 of 8 concurrent first views with stock Oscar 4.2.1. Here the insert runs
in a savepoint, so the loser rolls back only that and increments the winner's row.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F, Model
from oscar.apps.analytics import receivers as oscar_receivers
from oscar.apps.analytics.models import ProductRecord, UserProductView, UserRecord
from oscar.apps.basket.signals import basket_addition
from oscar.apps.catalogue.signals import product_viewed


def counter_increment(*, model: type[Model], field: str, lookup: dict, by: int = 1) -> None:
    """Add ``by`` to ``field`` of the row matching ``lookup``, creating the row if needed."""
    rows = model._default_manager.filter(**lookup)
    if rows.update(**{field: F(field) + by}):
        return
    try:
        with transaction.atomic():
            model._default_manager.create(**lookup, **{field: by})
    except IntegrityError:
        # Another request created the row between our UPDATE and INSERT: count on theirs.
        rows.update(**{field: F(field) + by})


def product_view_record(sender, product, user, **kwargs) -> None:
    if kwargs.get("raw", False):
        return
    counter_increment(model=ProductRecord, field="num_views", lookup={"product": product})
    if user and user.is_authenticated:
        counter_increment(model=UserRecord, field="num_product_views", lookup={"user": user})
        UserProductView.objects.create(product=product, user=user)


def cart_addition_record(sender, product, user, **kwargs) -> None:
    if kwargs.get("raw", False):
        return
    counter_increment(
        model=ProductRecord, field="num_basket_additions", lookup={"product": product}
    )
    if user and user.is_authenticated:
        counter_increment(model=UserRecord, field="num_basket_additions", lookup={"user": user})


def replace_oscar_receivers() -> None:
    product_viewed.disconnect(oscar_receivers.receive_product_view)
    basket_addition.disconnect(oscar_receivers.receive_basket_addition)
    product_viewed.connect(product_view_record, dispatch_uid="essentiels.product_view_record")
    basket_addition.connect(cart_addition_record, dispatch_uid="essentiels.cart_addition_record")
