"""Race-safe replacements for Oscar's analytics counters.

Oscar's ``_update_counter`` tries ``UPDATE``, then ``INSERT`` when no row exists. Two concurrent
*first* views of a product both insert; the loser's ``IntegrityError`` aborts the request's
transaction (``ATOMIC_REQUESTS``), and its retry then fails with "current transaction is aborted":
measured as HTTP 500 on 2 of 8 concurrent first views with stock Oscar 4.2.1. Here the insert runs
in a savepoint, so the loser rolls back only that and increments the winner's row.

Oscar's order receiver counts each line's product inside the order's transaction, in the
cart's order: two orders holding the same products in another order lock their rows crosswise,
and PostgreSQL kills one with a deadlock — the shopper's order fails for a statistic (seen once
in 59 checkouts under load, bench/bench_stack.py). Here the counts wait for the order's commit
and take each row on its own, by product id.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F, Model
from oscar.apps.analytics import receivers as oscar_receivers
from oscar.apps.analytics.models import ProductRecord, UserProductView, UserRecord
from oscar.apps.basket.signals import basket_addition
from oscar.apps.catalogue.signals import product_viewed
from oscar.apps.order.signals import order_placed


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


def order_placed_record(sender, order, user, **kwargs) -> None:
    """Oscar's purchase counts (per product, and the shopper's orders), once the order is
    committed: outside its transaction, one row at a time, by product id. ``robust``: a count
    that fails is logged, never turned into an error page for an order already placed."""
    if kwargs.get("raw", False):
        return
    bought: dict[int, int] = {}
    for line in order.lines.all():
        bought[line.product_id] = bought.get(line.product_id, 0) + line.quantity
    shopper = user if user is not None and user.is_authenticated else None
    totals = {
        "num_orders": 1,
        "num_order_lines": order.num_lines,
        "num_order_items": order.num_items,
        "total_spent": order.total_incl_tax,
    }
    placed_at = order.date_placed

    def record() -> None:
        for product_id in sorted(bought):
            counter_increment(
                model=ProductRecord,
                field="num_purchases",
                lookup={"product_id": product_id},
                by=bought[product_id],
            )
        if shopper is not None:
            for field, by in totals.items():
                counter_increment(model=UserRecord, field=field, lookup={"user": shopper}, by=by)
            UserRecord.objects.filter(user=shopper).update(date_last_order=placed_at)

    transaction.on_commit(record, robust=True)


def replace_oscar_receivers() -> None:
    product_viewed.disconnect(oscar_receivers.receive_product_view)
    basket_addition.disconnect(oscar_receivers.receive_basket_addition)
    order_placed.disconnect(oscar_receivers.receive_order_placed)
    order_placed.connect(order_placed_record, dispatch_uid="essentiels.order_placed_record")
    product_viewed.connect(product_view_record, dispatch_uid="essentiels.product_view_record")
    basket_addition.connect(cart_addition_record, dispatch_uid="essentiels.cart_addition_record")
