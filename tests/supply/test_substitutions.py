"""Substitutions: a short component replaced for one date, within every basket's promises."""

from __future__ import annotations

import pytest

from baskets.models import Diet
from supply.models import ComponentDemand, OrderLineSubstitution
from supply.services.forecast import supply_forecast_refresh
from supply.services.substitutions import SubstitutionError, substitution_declare
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


def test_substitute_breaking_a_diet_is_refused_with_the_reason():
    # given a vegan basket of lentils; chickpeas are vegan, a cheese is not
    lentils = make_grocery("Lentilles")
    cheese = make_grocery("Comté", diets={Diet.VEGETARIAN})
    make_variant(components={lentils: 2}, diets={Diet.VEGAN})
    # when staff declare the cheese as a substitute
    with pytest.raises(SubstitutionError) as refused:
        substitution_declare(
            product_id=lentils.pk,
            substitute_id=cheese.pk,
            delivery_date=DELIVERY,
            now=BEFORE_CUTOFF,
        )
    # then the reasons name the diet, for the product and for the basket
    assert any("végan" in message for message in refused.value.messages)
    assert not OrderLineSubstitution.objects.exists()


def test_substitute_breaking_the_cost_rule_is_refused():
    # given a basket for 1 person over 1 day costing 4.00 €, lentils at 1.00 €
    lentils = make_grocery("Lentilles", cost="1.00")
    caviar = make_grocery("Caviar", cost="30.00")
    make_variant(components={lentils: 4}, persons=1, days=1)
    with pytest.raises(SubstitutionError) as refused:
        substitution_declare(
            product_id=lentils.pk,
            substitute_id=caviar.pk,
            delivery_date=DELIVERY,
            now=BEFORE_CUTOFF,
        )
    assert any("plafond" in message for message in refused.value.messages)


def test_substitution_reaches_the_dates_orders_and_moves_the_forecast():
    # given a basket of lentils with an order on 8 December, one on the 15th, and a subscriber
    lentils, chickpeas = make_grocery("Lentilles"), make_grocery("Pois chiches")
    variant = make_variant(components={lentils: 2})
    district = paris_13e()
    on_date = order_placed_create(
        variant=variant, quantity=1, district=district, delivery_date=DELIVERY
    )
    later = order_placed_create(
        variant=variant, quantity=1, district=district, delivery_date=NEXT_DELIVERY
    )
    subscription_create(variant=variant, district=district, quantity=3)
    # when chickpeas replace lentils on 8 December (declared twice: idempotent)
    for _ in range(2):
        substitution_declare(
            product_id=lentils.pk,
            substitute_id=chickpeas.pk,
            delivery_date=DELIVERY,
            now=BEFORE_CUTOFF,
        )
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    # then the 8 December order shows it, the 15th's does not
    reached = OrderLineSubstitution.objects.get()
    assert reached.line.order_id == on_date.pk
    assert (reached.original_title, reached.substitute_title, reached.quantity) == (
        "Lentilles",
        "Pois chiches",
        2,
    )
    assert not OrderLineSubstitution.objects.filter(line__order=later).exists()
    # and that date's demand is on chickpeas: (1 order + 3 subscribed) × 2
    assert not ComponentDemand.objects.filter(product=lentils, delivery_date=DELIVERY).exists()
    moved = ComponentDemand.objects.get(product=chickpeas, delivery_date=DELIVERY)
    assert moved.from_orders + moved.from_subscriptions == 8
    assert ComponentDemand.objects.get(product=lentils, delivery_date=NEXT_DELIVERY)
