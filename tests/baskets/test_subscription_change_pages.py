"""« Changer de panier ou de taille » and « Changer d'adresse » in "Mon compte": forms in French,
the new delivery day shown before anything changes, only the shopper's own subscription."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from baskets.models import BasketSubscription, SubscriptionRenewal
from delivery.models import Postcode, Weekday
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import (
    AFTER_CUTOFF,
    BEFORE_CUTOFF,
    DELIVERY,
    THURSDAY_DELIVERY,
    district_not_open_yet,
    paris_5e_thursday,
    size_of,
    subscription_create,
)
from tests.delivery.factories import DistrictFactory

pytestmark = pytest.mark.django_db

BASKET = "subscription-change-basket"
ADDRESS = "subscription-change-address"
CONFIRM = "subscription-change-address-confirm"

MOVE = {
    "first_name": "Léa",
    "last_name": "Martin",
    "line1": "3 rue Mouffetard",
    "line2": "",
    "postcode": "75005",
    "line4": "Paris",
    "phone_number": "",
    "notes": "",
}


@pytest.fixture
def clock():
    with mock.patch("baskets.views_account._now", return_value=BEFORE_CUTOFF) as now:
        yield now


@pytest.fixture
def mine(client, clock):
    subscription = subscription_create()
    client.force_login(subscription.user)
    return subscription


def _url(name: str, subscription_id: int) -> str:
    return reverse(f"baskets:{name}", args=[subscription_id])


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _state(subscription: BasketSubscription) -> tuple:
    subscription.refresh_from_db()
    return (
        subscription.variant_id,
        subscription.quantity,
        subscription.line1,
        subscription.district_id,
        subscription.starts_on,
        subscription.messages.count(),
    )


# --- basket and size --------------------------------------------------------------------------


def test_the_detail_page_links_to_both_changes(client, mine):
    content = client.get(_url("subscription-detail", mine.pk)).content.decode()
    assert _url(BASKET, mine.pk) in content
    assert _url(ADDRESS, mine.pk) in content
    assert "Changer de panier ou de taille" in content
    assert "Chaque mardi (Paris 13e)" in content


def test_the_basket_form_lists_sizes_on_sale_with_their_weekly_price(client, mine):
    four = size_of(mine.variant, persons=4, price="110.00")
    hidden = make_variant(components={make_grocery(): 1}, publish=False)
    response = client.get(_url(BASKET, mine.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert f'value="{four.pk}"' in content
    assert f'value="{mine.variant_id}" id="variant-{mine.variant_id}" checked' in content
    assert f'value="{hidden.pk}"' not in content
    assert "110,00\xa0€ par semaine" in content
    assert "4 personnes" in content


def test_changing_size_says_from_which_delivery(client, mine):
    four = size_of(mine.variant, persons=4)
    response = client.post(
        _url(BASKET, mine.pk), {"variant": four.pk, "quantity": "2"}, follow=True
    )
    assert response.redirect_chain[-1][0] == _url("subscription-detail", mine.pk)
    (message,) = _messages(response)
    assert message == "Votre panier change à partir de la livraison du mardi 8 décembre 2026."
    mine.refresh_from_db()
    assert (mine.variant_id, mine.quantity) == (four.pk, 2)


def test_changing_basket_after_the_cutoff_says_the_fixed_order_keeps_its_basket(
    client, mine, clock
):
    clock.return_value = AFTER_CUTOFF
    SubscriptionRenewal.objects.create(subscription=mine, delivery_date=DELIVERY, status="paid")
    other = make_variant(components={make_grocery(): 3}, price="45.00")
    response = client.post(
        _url(BASKET, mine.pk), {"variant": other.pk, "quantity": "1"}, follow=True
    )
    (message,) = _messages(response)
    assert "à partir de la livraison du mardi 15 décembre 2026" in message
    assert "La commande du mardi 8 décembre 2026 est déjà arrêtée" in message


def test_changing_basket_while_the_fixed_order_is_placed_is_a_clear_refusal(client, mine, clock):
    clock.return_value = AFTER_CUTOFF
    other = make_variant(components={make_grocery(): 3}, price="45.00")
    before = _state(mine)
    response = client.post(_url(BASKET, mine.pk), {"variant": other.pk, "quantity": "1"})
    assert response.status_code == 400
    assert "en cours de préparation" in response.content.decode()
    assert _state(mine) == before


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"variant": "abc", "quantity": "1"}, "pas en vente"),
        ({"variant": "987654", "quantity": "1"}, "pas en vente"),
        ({"quantity": "1"}, "Choisissez un panier"),
        ({"variant": "VARIANT", "quantity": "0"}, "supérieure ou égale à 1"),
        ({"variant": "VARIANT", "quantity": "11"}, "inférieure ou égale à 10"),
        ({"variant": "VARIANT", "quantity": "deux"}, "Saisissez un nombre entier"),
    ],
)
def test_malformed_basket_input_is_a_french_form_error_and_writes_nothing(
    client, mine, data, error
):
    four = size_of(mine.variant, persons=4)
    data = {key: str(four.pk) if value == "VARIANT" else value for key, value in data.items()}
    before = _state(mine)
    response = client.post(_url(BASKET, mine.pk), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert _state(mine) == before


def test_a_withdrawn_basket_posted_from_an_old_page_is_refused(client, mine):
    other = make_variant(components={make_grocery(): 3}, price="45.00")
    other.product.is_public = False
    other.product.save()
    before = _state(mine)
    response = client.post(_url(BASKET, mine.pk), {"variant": other.pk, "quantity": "1"})
    assert response.status_code == 400
    assert "n’est pas en vente en ce moment" in response.content.decode()
    assert _state(mine) == before


# --- address ----------------------------------------------------------------------------------


def test_the_address_form_is_prefilled(client, mine):
    response = client.get(_url(ADDRESS, mine.pk))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["line1"] == "12 rue de Tolbiac"
    assert form.initial["postcode"] == "75013"
    assert 'value="12 rue de Tolbiac"' in response.content.decode()


def test_moving_shows_the_new_day_before_anything_changes_then_applies_it(client, mine):
    paris_5e = paris_5e_thursday()
    before = _state(mine)
    # step 1: the new address shows its district, weekday and first date, and writes nothing
    response = client.post(_url(ADDRESS, mine.pk), MOVE)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Cette adresse est à Paris 5e : livraison chaque jeudi." in content
    assert "Au lieu de chaque mardi à Paris 13e." in content
    assert "Première livraison à cette adresse : jeudi 10 décembre 2026." in content
    assert f'name="district" value="{paris_5e.pk}"' in content
    assert 'name="first_delivery" value="2026-12-10"' in content
    assert _state(mine) == before
    # step 2: confirming what was shown applies it
    confirm = {**MOVE, "district": paris_5e.pk, "first_delivery": "2026-12-10"}
    response = client.post(_url(CONFIRM, mine.pk), confirm, follow=True)
    assert response.redirect_chain[-1][0] == _url("subscription-detail", mine.pk)
    (message,) = _messages(response)
    assert "Première livraison à cette adresse : jeudi 10 décembre 2026" in message
    assert "chaque jeudi à Paris 5e" in message
    mine.refresh_from_db()
    assert (mine.line1, mine.district_id, mine.starts_on) == (
        "3 rue Mouffetard",
        paris_5e.pk,
        THURSDAY_DELIVERY,
    )
    assert response.context["due_dates"][0] == THURSDAY_DELIVERY


def test_a_district_moved_before_confirming_shows_the_new_day_again(client, mine):
    paris_5e = paris_5e_thursday()
    friday = DistrictFactory(name="Paris 5e Ouest", insee_code="75199", weekday=Weekday.FRIDAY)
    Postcode.objects.filter(code="75005").update(district=friday)
    before = _state(mine)
    confirm = {**MOVE, "district": paris_5e.pk, "first_delivery": "2026-12-10"}
    response = client.post(_url(CONFIRM, mine.pk), confirm)
    assert response.status_code == 409
    content = response.content.decode()
    assert "viennent de changer" in content
    assert "livraison chaque vendredi" in content
    assert f'name="district" value="{friday.pk}"' in content
    assert _state(mine) == before


@pytest.mark.parametrize(
    ("postcode", "error"),
    [("99999", "hors de notre zone de livraison"), ("93200", "Nous ne livrons pas encore")],
)
def test_an_address_we_do_not_deliver_offers_the_waitlist(client, mine, postcode, error):
    district_not_open_yet()
    before = _state(mine)
    response = client.post(_url(ADDRESS, mine.pk), {**MOVE, "postcode": postcode})
    assert response.status_code == 400
    content = response.content.decode()
    assert error in content
    assert f"{reverse('delivery:waitlist')}?postcode={postcode}&amp;commune=Paris" in content
    assert _state(mine) == before


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"postcode": "75 0AB"}, "code postal français à cinq chiffres"),
        ({"line1": ""}, "Ce champ est obligatoire"),
        ({"line4": ""}, "Ce champ est obligatoire"),
        ({"phone_number": "0" * 40}, "au plus 32 caractères"),
    ],
)
def test_malformed_address_input_is_a_french_form_error(client, mine, data, error):
    paris_5e_thursday()
    before = _state(mine)
    response = client.post(_url(ADDRESS, mine.pk), {**MOVE, **data})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert _state(mine) == before


@pytest.mark.parametrize("missing", ["district", "line1"])
def test_a_tampered_confirmation_writes_nothing(client, mine, missing):
    paris_5e = paris_5e_thursday()
    before = _state(mine)
    confirm = {**MOVE, "district": paris_5e.pk}
    del confirm[missing]
    response = client.post(_url(CONFIRM, mine.pk), confirm)
    assert response.status_code == 400
    assert "confirmez-la de nouveau" in response.content.decode()
    assert _state(mine) == before


def test_moving_while_the_fixed_order_is_placed_is_a_clear_refusal(client, mine, clock):
    paris_5e_thursday()
    clock.return_value = AFTER_CUTOFF
    response = client.post(_url(ADDRESS, mine.pk), MOVE)
    assert response.status_code == 400
    assert "en cours de préparation" in response.content.decode()


# --- whose, who, how --------------------------------------------------------------------------


def test_another_shoppers_subscription_is_404_and_unchanged(client, mine):
    other = subscription_create()
    paris_5e = paris_5e_thursday()
    before = _state(other)
    for name in (BASKET, ADDRESS):
        assert client.get(_url(name, other.pk)).status_code == 404, name
    posts = {
        BASKET: {"variant": mine.variant_id, "quantity": "1"},
        ADDRESS: MOVE,
        CONFIRM: {**MOVE, "district": paris_5e.pk},
    }
    for name, data in posts.items():
        assert client.post(_url(name, other.pk), data).status_code == 404, name
    assert _state(other) == before


def test_anonymous_shoppers_are_sent_to_log_in(client, clock):
    subscription = subscription_create()
    before = _state(subscription)
    for name in (BASKET, ADDRESS, CONFIRM):
        response = client.post(_url(name, subscription.pk), MOVE)
        assert response.status_code == 302, name
        assert "login" in response["Location"], name
    assert _state(subscription) == before


def test_the_confirmation_is_post_only(client, mine):
    assert client.get(_url(CONFIRM, mine.pk)).status_code == 405


def test_a_cancelled_subscription_has_no_change_pages(client, mine):
    from baskets.services.subscriptions import subscription_cancel

    subscription_cancel(subscription_id=mine.pk, now=BEFORE_CUTOFF)
    content = client.get(_url("subscription-detail", mine.pk)).content.decode()
    assert _url(BASKET, mine.pk) not in content
    response = client.get(_url(BASKET, mine.pk), follow=True)
    assert any("est résilié" in message for message in _messages(response))
