"""The shopper's subscription pages in "Mon compte": only their own subscriptions, and every
change through a POST that shows the service's answer (never a 500)."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest
from django.urls import reverse
from oscar.test.factories import UserFactory

from baskets.models import BasketSubscription, SubscriptionSkip, SubscriptionStatus
from tests.baskets.subscription_factories import (
    AFTER_CUTOFF,
    BEFORE_CUTOFF,
    DELIVERY,
    NEXT_DELIVERY,
    subscription_create,
)

pytestmark = pytest.mark.django_db

ACTIONS = ("subscription-skip", "subscription-pause", "subscription-resume", "subscription-cancel")


@pytest.fixture
def clock():
    """The pages' "now": before the 8 December cutoff unless a test moves it."""
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
        subscription.status,
        subscription.paused_until,
        subscription.cancelled_at,
        subscription.skips.count(),
    )


def test_the_list_shows_only_my_subscriptions(client, mine):
    # given another shopper's subscription to another basket
    other = subscription_create(price="45.00")
    # when I open my subscriptions
    response = client.get(reverse("baskets:subscriptions"))
    # then I see mine, its next delivery and amount, and not theirs
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row["subscription"].pk for row in rows] == [mine.pk]
    assert rows[0]["next_delivery"] == DELIVERY
    assert str(rows[0]["amount"]) == "60.00"
    content = response.content.decode()
    assert "mardi 8 décembre 2026" in content
    assert _url("subscription-detail", other.pk) not in content
    assert "Mes abonnements" in content


def test_another_shoppers_subscription_is_404_everywhere_and_unchanged(client, mine):
    other = subscription_create()
    before = _state(other)
    assert client.get(_url("subscription-detail", other.pk)).status_code == 404
    posts = {
        "subscription-skip": {"delivery_date": "2026-12-08"},
        "subscription-pause": {"until": "2027-01-05"},
        "subscription-resume": {},
        "subscription-cancel": {"reason": "pas à moi"},
    }
    for name, data in posts.items():
        assert client.post(_url(name, other.pk), data).status_code == 404, name
    # then nothing of theirs changed
    assert _state(other) == before


def test_guessed_ids_are_404(client, mine):
    missing = BasketSubscription.objects.order_by("-pk").first().pk + 1000
    assert client.get(_url("subscription-detail", missing)).status_code == 404
    for name in ACTIONS:
        assert client.post(_url(name, missing), {}).status_code == 404, name


def test_anonymous_shoppers_are_sent_to_log_in(client, clock):
    subscription = subscription_create()
    before = _state(subscription)
    for url in (
        reverse("baskets:subscriptions"),
        _url("subscription-detail", subscription.pk),
        *(_url(name, subscription.pk) for name in ACTIONS),
    ):
        response = client.get(url) if "subscription-" not in url else client.post(url, {})
        assert response.status_code == 302, url
        assert "login" in response["Location"], url
    assert _state(subscription) == before


def test_actions_are_post_only(client, mine):
    for name in ACTIONS:
        assert client.get(_url(name, mine.pk)).status_code == 405, name


def test_detail_shows_the_next_six_dates_with_a_skip_button_each(client, mine):
    response = client.get(_url("subscription-detail", mine.pk))
    assert response.status_code == 200
    dates = response.context["due_dates"]
    assert len(dates) == 6
    assert dates[:2] == [DELIVERY, NEXT_DELIVERY]
    assert response.content.decode().count('name="delivery_date"') == 6


def test_skip_a_week(client, mine):
    response = client.post(
        _url("subscription-skip", mine.pk), {"delivery_date": "2026-12-15"}, follow=True
    )
    assert response.status_code == 200
    assert SubscriptionSkip.objects.get(subscription=mine).delivery_date == NEXT_DELIVERY
    assert any("15 décembre 2026" in message for message in _messages(response))
    assert NEXT_DELIVERY not in response.context["due_dates"]


def test_skipping_a_past_date_is_refused_in_french(client, mine):
    response = client.post(
        _url("subscription-skip", mine.pk), {"delivery_date": "2026-12-01"}, follow=True
    )
    assert response.status_code == 200
    assert any("date de livraison est passée" in message for message in _messages(response))
    assert not SubscriptionSkip.objects.exists()


def test_skipping_a_cut_off_date_is_refused_and_says_from_when(client, mine, clock):
    clock.return_value = AFTER_CUTOFF
    response = client.post(
        _url("subscription-skip", mine.pk), {"delivery_date": "2026-12-08"}, follow=True
    )
    assert response.status_code == 200
    assert any("trop tard pour la sauter" in message for message in _messages(response))
    assert not SubscriptionSkip.objects.exists()
    # the page says the order of the 8th is fixed and changes apply from the following one
    assert response.context["fixed_delivery"] == DELIVERY
    assert "à partir de la livraison suivante" in response.content.decode()


def test_a_malformed_skip_date_is_an_error_message(client, mine):
    response = client.post(
        _url("subscription-skip", mine.pk), {"delivery_date": "demain"}, follow=True
    )
    assert response.status_code == 200
    assert _messages(response)
    assert not SubscriptionSkip.objects.exists()


def test_pause_then_resume(client, mine):
    response = client.post(
        _url("subscription-pause", mine.pk), {"until": "2027-01-05"}, follow=True
    )
    assert response.status_code == 200
    assert any("en pause jusqu’au" in message for message in _messages(response)), _messages(
        response
    )
    mine.refresh_from_db()
    assert (mine.status, mine.paused_until) == (SubscriptionStatus.PAUSED, date(2027, 1, 5))

    response = client.post(_url("subscription-resume", mine.pk), follow=True)
    assert response.status_code == 200
    assert any("de nouveau actif" in message for message in _messages(response))
    mine.refresh_from_db()
    assert (mine.status, mine.paused_until) == (SubscriptionStatus.ACTIVE, None)


def test_pause_after_the_cutoff_says_it_applies_from_the_following_delivery(client, mine, clock):
    clock.return_value = AFTER_CUTOFF
    response = client.post(
        _url("subscription-pause", mine.pk), {"until": "2027-01-05"}, follow=True
    )
    (message,) = _messages(response)
    assert "8 décembre 2026" in message
    assert "à partir de la livraison suivante" in message


def test_a_malformed_pause_date_is_a_form_error(client, mine):
    before = _state(mine)
    response = client.post(_url("subscription-pause", mine.pk), {"until": "05/13/2027x"})
    assert response.status_code == 400
    assert response.context["pause_form"].errors["until"]
    assert "date valide" in response.content.decode()
    assert _state(mine) == before


def test_pausing_into_the_past_is_a_form_error(client, mine):
    before = _state(mine)
    response = client.post(_url("subscription-pause", mine.pk), {"until": "2026-12-01"})
    assert response.status_code == 400
    assert "dans le futur" in response.content.decode()
    assert _state(mine) == before


def test_cancel_with_a_reason(client, mine):
    response = client.post(
        _url("subscription-cancel", mine.pk), {"reason": "Je déménage"}, follow=True
    )
    assert response.status_code == 200
    assert any("résilié" in message for message in _messages(response))
    mine.refresh_from_db()
    assert (mine.status, mine.cancel_reason) == (SubscriptionStatus.CANCELLED, "Je déménage")
    # then a later change is refused with the service's message, not a 500
    response = client.post(_url("subscription-resume", mine.pk), follow=True)
    assert response.status_code == 200
    assert any("est résilié" in message for message in _messages(response))


def test_a_shopper_with_no_subscription_sees_an_empty_list(client, clock):
    client.force_login(UserFactory())
    response = client.get(reverse("baskets:subscriptions"))
    assert response.status_code == 200
    assert response.context["rows"] == []
