"""Changing a subscription: skip, pause, resume, cancel, and the dates it will be delivered on."""

from __future__ import annotations

from datetime import date

import pytest

from baskets.models import SubscriptionSkip, SubscriptionStatus
from baskets.services.subscriptions import (
    SubscriptionChangeError,
    subscription_cancel,
    subscription_due_dates,
    subscription_pause,
    subscription_resume,
    subscription_skip,
)
from tests.baskets.subscription_factories import (
    AFTER_CUTOFF,
    BEFORE_CUTOFF,
    DELIVERY,
    NEXT_DELIVERY,
    subscription_create,
)
from tests.conftest import race

pytestmark = pytest.mark.django_db


def test_due_dates_are_the_district_tuesdays_from_the_start():
    # given a subscription in a Tuesday district, renewals from 1 December
    subscription = subscription_create()
    # when its next three dates are asked before the 8 December cutoff
    dates = subscription_due_dates(subscription=subscription, count=3, now=BEFORE_CUTOFF)
    # then they are the next three Tuesdays
    assert dates == [DELIVERY, NEXT_DELIVERY, date(2026, 12, 22)]


def test_due_dates_leave_out_skipped_weeks_and_the_pause():
    subscription = subscription_create()
    # given the 8th skipped and a pause until the 22nd
    subscription_skip(subscription_id=subscription.pk, delivery_date=DELIVERY, now=BEFORE_CUTOFF)
    subscription_pause(subscription_id=subscription.pk, until=date(2026, 12, 22), now=BEFORE_CUTOFF)
    subscription.refresh_from_db()
    # then deliveries resume on the 22nd; Christmas-week Tuesday 29th follows
    dates = subscription_due_dates(subscription=subscription, count=2, now=BEFORE_CUTOFF)
    assert dates == [date(2026, 12, 22), date(2026, 12, 29)]


def test_due_dates_of_a_cancelled_subscription_are_none():
    subscription = subscription_create()
    subscription_cancel(subscription_id=subscription.pk)
    subscription.refresh_from_db()
    assert subscription_due_dates(subscription=subscription, count=3, now=BEFORE_CUTOFF) == []


def test_skip_before_the_cutoff_is_recorded_once():
    subscription = subscription_create()
    # when the shopper skips the 8th twice (a double click)
    first = subscription_skip(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=BEFORE_CUTOFF
    )
    second = subscription_skip(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=BEFORE_CUTOFF
    )
    # then one skip exists
    assert first.pk == second.pk
    assert SubscriptionSkip.objects.filter(subscription=subscription).count() == 1


def test_skip_after_the_cutoff_is_refused():
    subscription = subscription_create()
    # when the shopper skips the 8th after Sunday noon
    with pytest.raises(SubscriptionChangeError, match="trop tard pour la sauter"):
        subscription_skip(subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF)
    # then nothing was written; the following week can still be skipped
    assert not SubscriptionSkip.objects.exists()
    subscription_skip(
        subscription_id=subscription.pk, delivery_date=NEXT_DELIVERY, now=AFTER_CUTOFF
    )
    assert SubscriptionSkip.objects.get().delivery_date == NEXT_DELIVERY


def test_skip_of_a_past_date_is_refused():
    subscription = subscription_create()
    with pytest.raises(SubscriptionChangeError, match="date de livraison est passée"):
        subscription_skip(
            subscription_id=subscription.pk, delivery_date=date(2026, 12, 1), now=BEFORE_CUTOFF
        )
    assert not SubscriptionSkip.objects.exists()


def test_skip_of_a_day_without_delivery_is_refused():
    subscription = subscription_create()
    # a Wednesday in a Tuesday district
    with pytest.raises(SubscriptionChangeError, match="Pas de livraison"):
        subscription_skip(
            subscription_id=subscription.pk, delivery_date=date(2026, 12, 9), now=BEFORE_CUTOFF
        )
    assert not SubscriptionSkip.objects.exists()


def test_pause_into_the_past_is_refused():
    subscription = subscription_create()
    for until in (date(2026, 12, 1), BEFORE_CUTOFF.date()):
        with pytest.raises(SubscriptionChangeError, match="dans le futur"):
            subscription_pause(subscription_id=subscription.pk, until=until, now=BEFORE_CUTOFF)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.paused_until is None


def test_pause_then_resume():
    subscription = subscription_create()
    subscription_pause(subscription_id=subscription.pk, until=date(2027, 1, 5), now=BEFORE_CUTOFF)
    subscription.refresh_from_db()
    assert (subscription.status, subscription.paused_until) == (
        SubscriptionStatus.PAUSED,
        date(2027, 1, 5),
    )
    subscription_resume(subscription_id=subscription.pk)
    subscription.refresh_from_db()
    assert (subscription.status, subscription.paused_until) == (SubscriptionStatus.ACTIVE, None)


def test_cancel_keeps_the_first_date_and_reason_and_refuses_later_changes():
    subscription = subscription_create()
    subscription_cancel(subscription_id=subscription.pk, reason="  Je déménage  ", now=AFTER_CUTOFF)
    subscription_cancel(subscription_id=subscription.pk, reason="autre", now=BEFORE_CUTOFF)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == AFTER_CUTOFF
    assert subscription.cancel_reason == "Je déménage"
    # then nothing else can be changed
    with pytest.raises(SubscriptionChangeError, match="est résilié"):
        subscription_skip(
            subscription_id=subscription.pk, delivery_date=NEXT_DELIVERY, now=BEFORE_CUTOFF
        )
    with pytest.raises(SubscriptionChangeError, match="est résilié"):
        subscription_pause(
            subscription_id=subscription.pk, until=date(2027, 1, 5), now=BEFORE_CUTOFF
        )
    with pytest.raises(SubscriptionChangeError, match="est résilié"):
        subscription_resume(subscription_id=subscription.pk)


@pytest.mark.django_db(transaction=True)
def test_two_tabs_skipping_the_same_week_make_one_skip():
    subscription = subscription_create()
    # when eight tabs skip the 8th at once, each on its own connection
    results = race(
        8,
        subscription_skip,
        subscription_id=subscription.pk,
        delivery_date=DELIVERY,
        now=BEFORE_CUTOFF,
    )
    # then none fails and one skip exists
    assert all(isinstance(result, SubscriptionSkip) for result in results), results
    assert SubscriptionSkip.objects.filter(subscription=subscription).count() == 1


@pytest.mark.django_db(transaction=True)
def test_cancel_racing_a_pause_ends_cancelled_and_consistent():
    subscription = subscription_create()

    def pause():
        try:
            return subscription_pause(
                subscription_id=subscription.pk, until=date(2027, 1, 5), now=BEFORE_CUTOFF
            )
        except SubscriptionChangeError as exc:
            return exc

    def cancel():
        return subscription_cancel(subscription_id=subscription.pk, now=BEFORE_CUTOFF)

    turns = iter(range(100))

    def one_of_each():
        return pause() if next(turns) % 2 else cancel()

    race(6, one_of_each)
    subscription.refresh_from_db()
    # then whatever the order, it is cancelled and holds no pause date
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.paused_until is None


def test_staff_see_subscriptions_and_renewals_read_only_in_admin(admin_client):
    from django.urls import reverse

    from baskets.models import SubscriptionRenewal

    subscription = subscription_create()
    SubscriptionRenewal.objects.create(subscription=subscription, delivery_date=DELIVERY)
    for name in ("basketsubscription", "subscriptionrenewal"):
        response = admin_client.get(reverse(f"admin:baskets_{name}_changelist"), {"q": "Tolbiac"})
        assert response.status_code == 200
    page = admin_client.get(
        reverse("admin:baskets_basketsubscription_change", args=[subscription.pk])
    )
    assert page.status_code == 200
    assert b"2026" in page.content  # the renewal inline
    assert admin_client.get(reverse("admin:baskets_basketsubscription_add")).status_code == 403
