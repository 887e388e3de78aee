"""The checkout offers the first delivery date supply can serve: a basket whose component is
short for the next delivery is sold for the one after, and the shopper is told why."""

from __future__ import annotations

import pytest
from django.urls import reverse

from delivery.calendar import delivery_dates_upcoming
from delivery.models import OrderDelivery
from supply.models import SupplyReservation
from supply.services.weeks import week_of
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.test_subscribe_checkout import (  # noqa: F401 (fixtures)
    add_to_cart,
    district,
    france,
    pay,
    saved_card,
    shopper,
    to_preview,
)
from tests.supply.factories import commitment_set, stock_set

pytestmark = pytest.mark.django_db


def test_a_basket_short_for_the_next_delivery_is_sold_for_the_following_one(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    # given a basket of 2 rice; no rice in stock, 10 promised for the week after next delivery
    first, second = delivery_dates_upcoming(district=district, count=2)
    rice = make_grocery("Riz")
    stock_set(rice, 0)
    commitment_set(rice, second, 10)
    variant = make_variant(components={rice: 2, make_grocery("Pâtes"): 1})
    # when a shopper in Paris 13e checks out one basket, just once
    add_to_cart(client, variant, frequency="once")
    to_preview(client)
    # then the preview offers the second date, saying rice cannot be secured for the first
    html = client.get(reverse("checkout:preview")).content.decode()
    assert f"mardi {second.day} " in html
    said = f"Nous ne pouvons pas garantir assez de « Riz » pour la livraison du mardi {first.day} "
    assert said in html
    # and the order placed is booked on it, its rice reserved in that week
    response = pay(client, saved_card(shopper), django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.content.decode()[:500]
    assert OrderDelivery.objects.get().delivery_date == second
    assert SupplyReservation.objects.get(product=rice, week=week_of(second)).reserved == 2


def test_a_basket_no_coming_date_can_supply_gets_no_delivery_date(
    client, district, shopper, saved_card
):
    # given a basket whose rice nobody can supply in the coming weeks
    rice = make_grocery("Riz")
    stock_set(rice, 0)
    add_to_cart(client, make_variant(components={rice: 2}), frequency="once")
    # when the shopper goes to the shipping step
    assert client.get(reverse("checkout:index")).status_code == 302
    from tests.delivery.test_checkout import address

    client.post(reverse("checkout:shipping-address"), address("75013", "Paris"))
    response = client.get(reverse("checkout:shipping-method"), follow=True)
    # then no date is offered: the shopper is back on the cart page, told which component
    assert response.redirect_chain[-1][0] == reverse("basket:summary")
    said = [str(m) for m in response.context["messages"]]
    assert any("Nous ne pouvons garantir assez de « Riz » pour aucune livraison" in m for m in said)
    assert client.get(reverse("checkout:preview")).status_code == 302
    assert not OrderDelivery.objects.exists()
