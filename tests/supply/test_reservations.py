"""Protection at the point of sale: reservations per (component, week), refused atomically."""

from __future__ import annotations

from datetime import date

import pytest

from baskets.services.subscribe import SubscribeError, subscriptions_create_from_order
from supply.coverage import adds_shortfall, coverage_weeks, room_from
from supply.models import SupplyOrderReservation, SupplyReservation
from supply.services.forecast import supply_forecast_refresh
from supply.services.reservations import SupplyShortError, basket_needs, supply_reserve
from supply.services.sales import SupplyRefused, order_supply_reserve
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import BEFORE_CUTOFF, DELIVERY, subscription_create
from tests.conftest import race
from tests.delivery.factories import paris_13e
from tests.supply.factories import commitment_set, order_placed_create, stock_set

WEEK_1 = date(2026, 12, 7)


def test_coverage_carries_stock_and_does_not_carry_shortages():
    # given 10 in stock, 5 committed in week 2, demand 8, 9, 3
    weeks = coverage_weeks(stock=10, committed=[0, 5, 0], demand=[8, 9, 3])
    # then week 1 leaves 2, week 2 is 2 short, week 3 has nothing left
    assert [w.shortfall for w in weeks] == [0, 2, 3]
    assert [w.leftover for w in weeks] == [2, 0, 0]
    assert room_from(weeks, 0) == 0
    # taking 1 in week 1 deepens week 2's shortage; nothing can be added anywhere
    assert adds_shortfall(stock=10, committed=[0, 5, 0], demand=[8, 9, 3], extra=[1, 0, 0]) == 1
    # with 10 committed in week 3, week 3 has room for 7
    assert adds_shortfall(stock=10, committed=[0, 5, 10], demand=[8, 9, 3], extra=[0, 0, 7]) is None
    assert adds_shortfall(stock=10, committed=[0, 5, 10], demand=[8, 9, 3], extra=[0, 0, 8]) == 2


@pytest.mark.django_db
def test_a_sale_beyond_supply_is_refused_and_reserves_nothing():
    # given 10 rice in stock, a basket of 2 rice + 1 pasta, existing subscribers needing 6 rice
    rice, pasta = make_grocery("Riz"), make_grocery("Pâtes")
    stock_set(rice, 10)
    variant = make_variant(components={rice: 2, pasta: 1})
    subscription_create(variant=variant, quantity=3)
    # (later weeks are covered by what suppliers committed)
    commitment_set(rice, date(2026, 12, 15), 6)
    commitment_set(rice, date(2026, 12, 22), 6)
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    assert SupplyReservation.objects.get(product=rice, week=WEEK_1).reserved == 6
    # when a sale of 3 baskets (6 rice) on 8 December is attempted
    needs = basket_needs(variant_quantities=[(variant.pk, 3, DELIVERY)])
    with pytest.raises(SupplyShortError) as refused:
        supply_reserve(needs=needs, now=BEFORE_CUTOFF)
    # then it is refused naming rice, and pasta was not reserved either
    assert "Riz" in refused.value.message
    assert SupplyReservation.objects.get(product=pasta, week=WEEK_1).reserved == 3
    assert SupplyReservation.objects.get(product=rice, week=WEEK_1).reserved == 6
    # while 2 baskets (4 rice) fit
    supply_reserve(
        needs=basket_needs(variant_quantities=[(variant.pk, 2, DELIVERY)]), now=BEFORE_CUTOFF
    )
    assert SupplyReservation.objects.get(product=rice, week=WEEK_1).reserved == 10


@pytest.mark.django_db
def test_stock_taken_early_is_missing_later_but_committed_supply_counts():
    # given 4 rice in stock, existing demand of 4 in week 3 (no commitment)
    rice = make_grocery("Riz")
    stock_set(rice, 4)
    week_3 = date(2026, 12, 21)
    SupplyReservation.objects.create(product=rice, week=week_3, reserved=4)
    # then 1 more in week 1 would starve week 3: refused
    with pytest.raises(SupplyShortError):
        supply_reserve(needs={(rice.pk, WEEK_1): 1}, now=BEFORE_CUTOFF)
    # when buyers secure 3 for week 2, week 1 may take them... no: week 2's goods arrive later;
    # week 1 still has only stock, but week 3 is covered by what week 2 leaves over
    commitment_set(rice, date(2026, 12, 15), 3)
    supply_reserve(needs={(rice.pk, WEEK_1): 3}, now=BEFORE_CUTOFF)
    assert SupplyReservation.objects.get(product=rice, week=WEEK_1).reserved == 3


@pytest.mark.django_db
def test_one_off_checkout_order_beyond_supply_is_refused_through_the_subscribe_hook():
    # given a basket of 5 rice and 8 rice in stock, an order of 2 baskets for 8 December
    rice = make_grocery("Riz")
    stock_set(rice, 8)
    variant = make_variant(components={rice: 5})
    placed = order_placed_create(
        variant=variant, quantity=2, district=paris_13e(), delivery_date=DELIVERY
    )
    # when the checkout starts its subscriptions (none: a one-off order) in the order's transaction
    with pytest.raises(SubscribeError) as refused:
        subscriptions_create_from_order(
            order=placed, customer_id="cus_1", payment_method_id="pm_1", now=BEFORE_CUTOFF
        )
    # then the shopper is told why, with the waiting list
    assert "Riz" in refused.value.message
    assert f"/approvisionnement/liste-attente/{variant.pk}/" in refused.value.message
    assert not SupplyOrderReservation.objects.exists()


@pytest.mark.django_db
def test_new_subscription_reserves_each_coming_week_once():
    # given 100 rice, a basket of 2 rice, a new subscription started by an order on 8 December
    rice = make_grocery("Riz")
    stock_set(rice, 100)
    variant = make_variant(components={rice: 2})
    district = paris_13e()
    subscription = subscription_create(
        variant=variant, district=district, starts_on=date(2026, 12, 15)
    )
    placed = order_placed_create(
        variant=variant, quantity=1, district=district, delivery_date=DELIVERY
    )
    # when the order reserves (twice: a re-run)
    assert order_supply_reserve(order=placed, subscriptions=[subscription], now=BEFORE_CUTOFF)
    assert not order_supply_reserve(order=placed, subscriptions=[subscription], now=BEFORE_CUTOFF)
    # then the first order and the renewals of 15 and 22 December are reserved, once
    reserved = dict(
        SupplyReservation.objects.filter(product=rice, reserved__gt=0).values_list(
            "week", "reserved"
        )
    )
    assert reserved == {WEEK_1: 2, date(2026, 12, 14): 2, date(2026, 12, 21): 2}


@pytest.mark.django_db
def test_new_subscription_to_a_capped_basket_is_refused_existing_ones_are_not():
    # given 6 rice in stock, a basket of 2 rice and three subscribers: no room for a fourth
    rice = make_grocery("Riz")
    stock_set(rice, 6)
    variant = make_variant(components={rice: 2})
    district = paris_13e()
    subscription_create(
        variant=variant, district=district, quantity=3, starts_on=date(2026, 12, 22)
    )
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    assert variant.supply_cap.auto_capped
    newcomer = subscription_create(variant=variant, district=district)
    placed = order_placed_create(
        variant=variant, quantity=1, district=district, delivery_date=DELIVERY
    )
    # when the newcomer's checkout reserves
    with pytest.raises(SupplyRefused) as refused:
        order_supply_reserve(order=placed, subscriptions=[newcomer], now=BEFORE_CUTOFF)
    # then it is refused as capped; the existing subscriber's week stays reserved
    assert "Riz" in refused.value.message
    assert SupplyReservation.objects.get(product=rice, week=date(2026, 12, 21)).reserved == 6


@pytest.mark.django_db
def test_manual_cap_on_active_subscriptions():
    from supply.models import VariantSupplyCap
    from supply.services.caps import variant_cap_reason

    variant = make_variant(components={make_grocery(): 1})
    VariantSupplyCap.objects.create(variant=variant, max_subscriptions=1)
    assert variant_cap_reason(variant_id=variant.pk) is None
    subscription_create(variant=variant)
    assert variant_cap_reason(variant_id=variant.pk)


@pytest.mark.django_db(transaction=True)
def test_racing_sales_never_reserve_beyond_supply():
    # given 10 rice in stock and a basket of 1 rice + 1 pasta (plenty of pasta)
    rice, pasta = make_grocery("Riz"), make_grocery("Pâtes")
    stock_set(rice, 10)
    variant = make_variant(components={rice: 1, pasta: 1})
    needs = basket_needs(variant_quantities=[(variant.pk, 1, DELIVERY)])

    def sell():
        supply_reserve(needs=needs, now=BEFORE_CUTOFF)
        return "sold"

    # when 30 shoppers race on separate connections
    results = race(30, sell)
    # then exactly 10 succeed, the others are refused, and rice is never over-promised
    assert results.count("sold") == 10
    assert sum(isinstance(r, SupplyShortError) for r in results) == 20
    assert SupplyReservation.objects.get(product=rice, week=WEEK_1).reserved == 10
    assert SupplyReservation.objects.get(product=pasta, week=WEEK_1).reserved == 10
