"""The demand forecast: summed in the database from subscriptions and placed orders."""

from __future__ import annotations

from datetime import date

import pytest

from baskets.models import SubscriptionRenewal, SubscriptionSkip, SubscriptionStatus
from delivery.models import ClosedDate
from supply.models import ComponentDemand, SupplyReservation, VariantDemand
from supply.services.forecast import supply_forecast_refresh
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import (
    BEFORE_CUTOFF,
    DELIVERY,
    NEXT_DELIVERY,
    subscription_create,
)
from tests.delivery.factories import paris_13e
from tests.supply.factories import order_placed_create

pytestmark = pytest.mark.django_db

WEEK_3 = date(2026, 12, 22)


def _demand(product, day):
    row = ComponentDemand.objects.filter(product=product, delivery_date=day).first()
    return (row.from_subscriptions, row.from_orders) if row else (0, 0)


def test_component_demand_sums_due_subscriptions_and_placed_orders():
    # given a basket of 2 rice + 3 pasta, four subscriptions in Paris 13e (Tuesdays)
    rice, pasta = make_grocery("Riz"), make_grocery("Pâtes")
    variant = make_variant(components={rice: 2, pasta: 3})
    district = paris_13e()
    subscription_create(variant=variant, district=district, quantity=1)
    skipper = subscription_create(variant=variant, district=district, quantity=2)
    SubscriptionSkip.objects.create(subscription=skipper, delivery_date=NEXT_DELIVERY)
    subscription_create(
        variant=variant,
        district=district,
        quantity=5,
        status=SubscriptionStatus.PAUSED,
        paused_until=WEEK_3,
    )
    subscription_create(variant=variant, district=district, status=SubscriptionStatus.CANCELLED)
    # one already renewed for 8 December: its order counts, not the subscription (never twice)
    renewed = subscription_create(variant=variant, district=district, quantity=1)
    placed = order_placed_create(
        variant=variant, quantity=1, district=district, delivery_date=DELIVERY
    )
    SubscriptionRenewal.objects.create(subscription=renewed, delivery_date=DELIVERY, order=placed)
    # and a one-off order of 4 baskets for the 15th
    order_placed_create(variant=variant, quantity=4, district=district, delivery_date=NEXT_DELIVERY)

    # when the forecast is refreshed on Friday 4 December
    run = supply_forecast_refresh(now=BEFORE_CUTOFF)

    # then, per Tuesday: 8 Dec = 1 + 2 subscribed (+1 renewed order); 15 Dec = 1 + 1 (skip) ;
    # 22 Dec = 1 + 2 + 5 (pause over) + 1
    assert (run.horizon_start, run.horizon_end) == (date(2026, 12, 5), date(2026, 12, 27))
    assert _demand(rice, DELIVERY) == (2 * 3, 2 * 1)
    assert _demand(pasta, DELIVERY) == (3 * 3, 3 * 1)
    assert _demand(rice, NEXT_DELIVERY) == (2 * 2, 2 * 4)
    assert _demand(rice, WEEK_3) == (2 * 9, 0)
    vd = VariantDemand.objects.get(variant=variant, delivery_date=WEEK_3)
    assert (vd.from_subscriptions, vd.week) == (9, date(2026, 12, 21))
    # no date outside the district's Tuesdays
    assert set(ComponentDemand.objects.values_list("delivery_date", flat=True)) == {
        DELIVERY,
        NEXT_DELIVERY,
        WEEK_3,
    }
    # and reservations start from that demand (existing subscribers counted first)
    assert SupplyReservation.objects.get(product=rice, week=date(2026, 12, 14)).reserved == 4 + 8


def test_closed_dates_and_holidays_have_no_demand():
    # given a subscription in Paris 13e and 15 December closed for everyone
    rice = make_grocery("Riz")
    subscription_create(variant=make_variant(components={rice: 1}), quantity=1)
    ClosedDate.objects.create(date=NEXT_DELIVERY, reason="grève")
    # when
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    # then that Tuesday needs nothing, the others do
    assert _demand(rice, NEXT_DELIVERY) == (0, 0)
    assert _demand(rice, DELIVERY) == (1, 0)


def test_order_counts_its_recorded_composition_not_todays():
    # given an order placed when the basket held 2 rice; the basket now holds 5
    from baskets.models import BasketComponent, OrderLineCost

    rice = make_grocery("Riz")
    variant = make_variant(components={rice: 2})
    placed = order_placed_create(
        variant=variant, quantity=3, district=paris_13e(), delivery_date=DELIVERY
    )
    OrderLineCost.objects.create(
        line=placed.lines.get(),
        composition=[{"product_id": rice.pk, "title": "Riz", "quantity": 2, "cost_price": "1"}],
    )
    BasketComponent.objects.filter(variant=variant).update(quantity=5)
    # when
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    # then the order needs what it was sold with
    assert _demand(rice, DELIVERY) == (0, 6)


def test_refresh_is_idempotent():
    rice = make_grocery("Riz")
    subscription_create(variant=make_variant(components={rice: 2}), quantity=1)
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    first = list(
        ComponentDemand.objects.values_list("product", "delivery_date", "from_subscriptions")
    )
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    assert sorted(first) == sorted(
        ComponentDemand.objects.values_list("product", "delivery_date", "from_subscriptions")
    )
    assert SupplyReservation.objects.get(product=rice, week=date(2026, 12, 7)).reserved == 2
