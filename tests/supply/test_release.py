"""Cancelled subscriptions and released orders give their supply back at once (not at the next
refresh), exactly what was counted for them, once; the automatic cap ignores fixed weeks."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine

from baskets.services.subscriptions import subscription_cancel
from delivery.calendar import PARIS
from delivery.models import OrderDelivery
from delivery.services.booking import order_delivery_release
from supply.models import SupplyReservation, VariantSupplyCap
from supply.services.forecast import supply_forecast_refresh
from supply.services.reservations import SupplyShortError, basket_needs, supply_reserve
from supply.services.weeks import first_orderable_date
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import BEFORE_CUTOFF, DELIVERY, subscription_create
from tests.delivery.factories import paris_13e
from tests.supply.factories import commitment_set, order_placed_create, stock_set

pytestmark = pytest.mark.django_db
WEEKS = [date(2026, 12, 7), date(2026, 12, 14), date(2026, 12, 21)]


def reserved(product) -> list[int]:
    rows = dict(SupplyReservation.objects.filter(product=product).values_list("week", "reserved"))
    return [rows.get(week, 0) for week in WEEKS]


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_cancelling_a_subscription_frees_its_weeks_at_once_and_only_once():
    # given 6 rice a week, a basket of 2 rice and a subscriber taking 3 baskets every Tuesday
    rice = make_grocery("Riz")
    stock_set(rice, 0)
    for week in WEEKS:
        commitment_set(rice, week, 6)
    variant = make_variant(components={rice: 2})
    subscription = subscription_create(variant=variant, quantity=3)
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    assert reserved(rice) == [6, 6, 6]
    with pytest.raises(SupplyShortError):
        supply_reserve(needs=basket_needs(variant_quantities=[(variant.pk, 1, DELIVERY)]))
    # when the subscriber cancels (no refresh runs)
    subscription_cancel(subscription_id=subscription.pk, now=BEFORE_CUTOFF)
    # then the 8, 15 and 22 December deliveries are free to sell straight away
    assert reserved(rice) == [0, 0, 0]
    supply_reserve(needs=basket_needs(variant_quantities=[(variant.pk, 3, DELIVERY)]))
    assert reserved(rice) == [6, 0, 0]
    # and saving the cancelled subscription again frees nothing more
    subscription.refresh_from_db()
    subscription.save()
    assert reserved(rice) == [6, 0, 0]


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_cancelling_a_paused_or_skipping_subscription_frees_only_the_weeks_it_had():
    from baskets.models import SubscriptionSkip

    # given a subscriber of 1 basket (2 rice) paused until 14 December and skipping the 22nd,
    # while another subscriber takes 1 basket every week
    rice = make_grocery("Riz")
    variant = make_variant(components={rice: 2})
    paused = subscription_create(
        variant=variant,
        status="paused",
        paused_until=date(2026, 12, 14),
        paused_at=datetime(2026, 11, 20, tzinfo=PARIS),
    )
    SubscriptionSkip.objects.create(subscription=paused, delivery_date=date(2026, 12, 22))
    subscription_create(variant=variant)
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    assert reserved(rice) == [2, 4, 2]
    # when the paused subscriber cancels
    subscription_cancel(subscription_id=paused.pk, now=BEFORE_CUTOFF)
    # then only 15 December is freed; the other subscriber keeps every week
    assert reserved(rice) == [2, 2, 2]


@time_machine.travel(BEFORE_CUTOFF, tick=False)
def test_a_released_order_frees_its_baskets_at_once():
    # given a one-off order of 2 baskets (2 rice each) booked on 8 December, counted
    rice = make_grocery("Riz")
    variant = make_variant(components={rice: 2})
    placed = order_placed_create(
        variant=variant, quantity=2, district=paris_13e(), delivery_date=DELIVERY
    )
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    assert reserved(rice) == [4, 0, 0]
    # when it is cancelled and its delivery released
    delivery = OrderDelivery.objects.get(order=placed)
    assert order_delivery_release(order_delivery_id=delivery.pk)
    # then its rice is free now, and releasing again frees nothing more
    assert reserved(rice) == [0, 0, 0]
    SupplyReservation.objects.filter(product=rice, week=WEEKS[0]).update(reserved=4)
    assert not order_delivery_release(order_delivery_id=delivery.pk)
    delivery.refresh_from_db()
    delivery.save()
    assert reserved(rice) == [4, 0, 0]


MONDAY_MORNING = datetime(2026, 12, 7, 10, 0, tzinfo=PARIS)  # 8 December is fixed already


def test_the_automatic_cap_ignores_a_week_no_new_sale_can_reach():
    # given Tuesday deliveries only; on Monday 7 December the 8th is fixed (cutoff passed)
    rice = make_grocery("Riz")
    stock_set(rice, 4)
    variant = make_variant(components={rice: 2})
    district = paris_13e()
    assert first_orderable_date(now=MONDAY_MORNING) == date(2026, 12, 15)
    # and this week is short (an order of 3 baskets = 6 rice for 4 in stock) while the coming
    # weeks have 10 committed each
    order_placed_create(variant=variant, quantity=3, district=district, delivery_date=DELIVERY)
    for week in WEEKS[1:]:
        commitment_set(rice, week, 10)
    # when the forecast refreshes
    supply_forecast_refresh(now=MONDAY_MORNING)
    # then the basket stays open to new subscribers: they start on the 15th, which has room
    assert not VariantSupplyCap.objects.get(variant=variant).auto_capped
    # but with only 1 committed for the week of the 14th it is capped
    commitment_set(rice, WEEKS[1], 1)
    supply_forecast_refresh(now=MONDAY_MORNING)
    cap = VariantSupplyCap.objects.get(variant=variant)
    assert cap.auto_capped
    assert cap.auto_reasons[0]["week"] == "2026-12-14"
