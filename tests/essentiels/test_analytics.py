"""Oscar's purchase counters never fail an order: counted after the order's commit, one row at a
time, so two orders holding the same products in another order cannot deadlock (they did inside
the order's transaction: bench/bench_stack.py saw one order lost to it)."""

from __future__ import annotations

import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone
from oscar.apps.analytics.models import ProductRecord, UserRecord
from oscar.apps.order.signals import order_placed
from oscar.test.factories import create_product

from essentiels.analytics import order_placed_record
from tests.conftest import race


def _order(*lines: tuple[int, int]) -> SimpleNamespace:
    """What the receiver reads of an order: its lines (product id, quantity) and totals."""
    rows = [SimpleNamespace(product_id=product_id, quantity=qty) for product_id, qty in lines]
    return SimpleNamespace(
        lines=SimpleNamespace(all=lambda: rows),
        num_lines=len(rows),
        num_items=sum(qty for _id, qty in lines),
        total_incl_tax=Decimal("10.00"),
        date_placed=timezone.now(),
    )


@pytest.mark.django_db(transaction=True)
def test_orders_of_the_same_products_in_either_order_never_deadlock():
    rice, pasta = create_product(title="Riz"), create_product(title="Pâtes")
    for product in (rice, pasta):  # the rows exist: each order updates both
        ProductRecord.objects.create(product=product)
    turns = iter(range(100))

    def place() -> str:
        first, second = (rice, pasta) if next(turns) % 2 else (pasta, rice)
        with transaction.atomic():  # the order's transaction, as Oscar places it
            order_placed_record(sender=None, order=_order((first.pk, 1), (second.pk, 2)), user=None)
            time.sleep(0.2)  # the rest of the order's writes: other orders run meanwhile
        return "placed"

    # when 8 shoppers place their orders together, half listing rice first, half pasta
    results = race(8, place)
    # then every order is placed and every unit counted
    assert results == ["placed"] * 8
    counted = {r.product_id: r.num_purchases for r in ProductRecord.objects.all()}
    assert counted == {rice.pk: 12, pasta.pk: 12}


@pytest.mark.django_db(transaction=True)
def test_a_shopper_s_order_is_counted_once_it_is_committed(django_user_model):
    shopper = django_user_model.objects.create_user("camille", "c@example.org", "x")
    rice = create_product(title="Riz")
    with transaction.atomic():
        order_placed_record(sender=None, order=_order((rice.pk, 3)), user=shopper)
        # not yet: the order could still roll back
        assert not ProductRecord.objects.filter(product=rice).exists()
    assert ProductRecord.objects.get(product=rice).num_purchases == 3
    record = UserRecord.objects.get(user=shopper)
    assert (record.num_orders, record.num_order_items, record.total_spent) == (
        1,
        3,
        Decimal("10.00"),
    )

    # a rolled-back order counts nothing
    def refused() -> None:
        with transaction.atomic():
            order_placed_record(sender=None, order=_order((rice.pk, 5)), user=shopper)
            raise RuntimeError("payment refused")

    with pytest.raises(RuntimeError):
        refused()
    assert ProductRecord.objects.get(product=rice).num_purchases == 3


def test_oscar_s_order_receiver_is_replaced_by_ours():
    from oscar.apps.analytics.receivers import receive_order_placed

    receivers = [ref() for _key, ref, *_ in order_placed.receivers]
    assert order_placed_record in receivers
    assert receive_order_placed not in receivers
