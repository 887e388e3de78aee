"""Subscriptions in Django admin: customer care finds a shopper's subscription, reads its
renewals, orders, payments, emails and skipped weeks, and pauses, resumes or cancels it on the
shopper's behalf — through the services, logged under their name, only with the permission."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.test.factories import OrderFactory, UserFactory

from baskets.models import (
    BasketSubscription,
    MessageKind,
    RenewalStatus,
    SubscriptionMessage,
    SubscriptionRenewal,
    SubscriptionSkip,
    SubscriptionStatus,
)
from baskets.services import subscriptions as subscription_services
from essentiels.roles import CUSTOMER_CARE_GROUP
from payments.models import StripeOperation
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import DELIVERY, NEXT_DELIVERY, subscription_create
from tests.delivery.factories import DistrictFactory, paris_13e

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:baskets_basketsubscription_changelist"
RESUME_ON = date(2037, 1, 5)


def change_url(subscription) -> str:
    return reverse("admin:baskets_basketsubscription_change", args=[subscription.pk])


def action_url(subscription, name: str) -> str:
    return reverse(f"admin:baskets_basketsubscription_{name}", args=[subscription.pk])


@pytest.fixture
def care(client):
    """A customer-care staff member, signed in."""
    user = UserFactory(email="care@essentiels.localhost", is_staff=True)
    user.groups.add(Group.objects.get(name=CUSTOMER_CARE_GROUP))
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def viewer(client):
    """Staff who may only look at subscriptions."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_basketsubscription", "view_subscriptionrenewal"]
        )
    )
    client.force_login(user)
    return client


def subscribed(email: str, *, last_name: str = "", postcode: str = "", **fields):
    subscription = subscription_create(**fields)
    BasketSubscription.objects.filter(pk=subscription.pk).update(
        last_name=last_name or subscription.last_name, postcode=postcode or subscription.postcode
    )
    subscription.user.email = email
    subscription.user.save(update_fields=["email"])
    return subscription


def listed(response) -> set[int]:
    return {row.pk for row in response.context["cl"].result_list}


def test_the_customer_care_group_has_exactly_its_permissions():
    group = Group.objects.get(name=CUSTOMER_CARE_GROUP)
    assert set(group.permissions.values_list("content_type__app_label", "codename")) == {
        ("baskets", "view_basketsubscription"),
        ("baskets", "change_basketsubscription"),
        ("baskets", "view_subscriptionrenewal"),
        ("baskets", "view_subscriptionskip"),
        ("baskets", "view_subscriptionmessage"),
        ("order", "view_order"),
        # orders' statuses and notes, and the Stripe refund form
        ("order", "change_order"),
        # finding the shopper's account
        ("auth", "view_user"),
        ("payments", "view_stripeoperation"),
        # the waiting room's priority lane: flagged customers and social services' codes
        ("waitingroom", "add_priorityshopper"),
        ("waitingroom", "change_priorityshopper"),
        ("waitingroom", "delete_priorityshopper"),
        ("waitingroom", "view_priorityshopper"),
        ("waitingroom", "add_prioritycode"),
        ("waitingroom", "change_prioritycode"),
        ("waitingroom", "view_prioritycode"),
        ("waitingroom", "view_prioritycoderedemption"),
    } | {
        (app_label, codename)
        for app_label, codename in (
            # unlocking a shopper locked out by failed logins
            ("axes", "view_accessattempt"),
            ("axes", "delete_accessattempt"),
            # what a shopper agreed to (marketing emails)
            ("privacy", "view_consent"),
        )
        if apps.is_installed(app_label)
    }


def test_search_finds_subscriptions_by_email_name_or_postcode(care):
    # given three shoppers
    lea = subscribed("lea@example.org")
    marc = subscribed("marc@example.org", last_name="Durand")
    nina = subscribed("nina@example.org", postcode="94300")
    url = reverse(CHANGELIST)
    # when customer care searches, then each search finds its shopper only
    assert listed(care.get(url, {"q": "marc@example"})) == {marc.pk}
    assert listed(care.get(url, {"q": "Durand"})) == {marc.pk}
    assert listed(care.get(url, {"q": "94300"})) == {nina.pk}
    assert listed(care.get(url, {"q": "lea@"})) == {lea.pk}


def test_filters_by_status_district_theme_and_basket(care):
    paused = subscribed("a@example.org", status=SubscriptionStatus.PAUSED, paused_until=RESUME_ON)
    other_variant = make_variant(components={make_grocery(): 1})
    active = subscribed(
        "b@example.org",
        variant=other_variant,
        district=DistrictFactory(name="Vincennes", weekday=3, is_active=True),
    )
    url = reverse(CHANGELIST)
    assert listed(care.get(url, {"status__exact": "paused"})) == {paused.pk}
    assert listed(care.get(url, {"district__id__exact": active.district_id})) == {active.pk}
    basket = other_variant.themed_basket
    assert listed(care.get(url, {"basket": basket.pk})) == {active.pk}
    assert listed(care.get(url, {"theme": basket.theme_id})) == {active.pk}
    # and the list shows the customer, the basket and size, the district's weekday, the pause
    html = care.get(url).content.decode()
    assert "a@example.org" in html
    assert other_variant.product.title in html
    assert "mardi" in html
    assert "En pause jusqu’au 05/01/2037" in html


def test_the_list_costs_the_same_queries_for_one_or_many_subscriptions(care):
    district = paris_13e()
    variant = make_variant(components={make_grocery(): 1})
    subscribed("first@example.org", district=district, variant=variant)
    url = reverse(CHANGELIST)
    care.get(url)  # warm the session and content types
    with CaptureQueriesContext(connection) as one:
        assert care.get(url).status_code == 200
    for n in range(8):
        other = make_variant(components={make_grocery(): 1})
        subscribed(f"s{n}@example.org", district=district, variant=other)
    with CaptureQueriesContext(connection) as nine:
        response = care.get(url)
    assert len(listed(response)) == 9
    assert len(nine) == len(one), [q["sql"] for q in nine.captured_queries]


def test_the_change_page_shows_renewals_payments_emails_and_skips(care):
    # given a subscription with a paid renewal, its Stripe operations, an email and a skip
    subscription = subscribed("lea@example.org")
    order = OrderFactory(number="A1-20261208", user=subscription.user)
    SubscriptionRenewal.objects.create(
        subscription=subscription,
        delivery_date=DELIVERY,
        order=order,
        status=RenewalStatus.PAID,
        attempts=1,
    )
    SubscriptionRenewal.objects.create(
        subscription=subscription,
        delivery_date=NEXT_DELIVERY,
        status=RenewalStatus.FAILED,
        error="Carte refusée",
    )
    StripeOperation.objects.create(
        idempotency_key="order-A1-20261208-authorise",
        kind=StripeOperation.Kind.PAYMENT_INTENT,
        order_number="A1-20261208",
        amount=Decimal("64.90"),
        currency="EUR",
        status=StripeOperation.Status.SUCCEEDED,
        stripe_id="pi_123",
    )
    StripeOperation.objects.create(
        idempotency_key="order-OTHER-authorise",
        kind=StripeOperation.Kind.PAYMENT_INTENT,
        order_number="OTHER",
        amount=Decimal("12.00"),
        stripe_id="pi_not_theirs",
    )
    SubscriptionMessage.objects.create(
        subscription=subscription,
        kind=MessageKind.RENEWED,
        key="renewed-1",
        subject="Votre panier du 8 décembre",
        body="…",
    )
    SubscriptionSkip.objects.create(subscription=subscription, delivery_date=date(2026, 12, 22))
    # when customer care opens it
    response = care.get(change_url(subscription))
    html = response.content.decode()
    # then the renewal links to the order's dashboard page, and the failure is explained
    assert response.status_code == 200
    order_url = reverse("dashboard:order-detail", kwargs={"number": "A1-20261208"})
    assert f'<a href="{order_url}">A1-20261208</a>' in html
    assert "Carte refusée" in html
    # the payment history lists that order's operations only
    assert "pi_123" in html
    assert "64,90 €" in html
    assert "pi_not_theirs" not in html
    # the emails and the skipped week are there
    assert "Votre panier du 8 décembre" in html
    assert "22 décembre 2026" in html
    # nothing is editable: no input for the status or the card, no save button
    assert 'name="status"' not in html
    assert 'name="stripe_payment_method_id"' not in html
    assert 'name="_save"' not in html
    # and the actions are offered
    assert action_url(subscription, "pause") in html
    assert action_url(subscription, "cancel") in html


def test_pause_from_the_change_page_goes_through_the_service_and_is_logged(care):
    subscription = subscribed("lea@example.org")
    # the pause page is a small form
    response = care.get(action_url(subscription, "pause"))
    assert response.status_code == 200
    assert 'name="until"' in response.content.decode()
    # when customer care pauses until a date
    with mock.patch(
        "baskets.admin.subscription_pause", wraps=subscription_services.subscription_pause
    ) as service:
        response = care.post(action_url(subscription, "pause"), {"until": "2037-01-05"})
    # then the service did it, and the history says who
    assert response.status_code == 302
    service.assert_called_once_with(subscription_id=subscription.pk, until=RESUME_ON)
    subscription.refresh_from_db()
    assert (subscription.status, subscription.paused_until) == ("paused", RESUME_ON)
    assert subscription.paused_at is not None
    entry = LogEntry.objects.get(object_id=str(subscription.pk))
    assert (entry.user, entry.action_flag) == (care.user, CHANGE)
    assert "2037-01-05" in entry.get_change_message()
    # when they resume it from its page
    response = care.post(action_url(subscription, "resume"))
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.status, subscription.paused_until) == ("active", None)
    assert LogEntry.objects.filter(object_id=str(subscription.pk)).count() == 2


def test_a_refused_pause_is_an_admin_error_and_changes_nothing(care):
    subscription = subscribed("lea@example.org")
    response = care.post(action_url(subscription, "pause"), {"until": "2001-01-01"}, follow=True)
    html = response.content.decode()
    assert "Choisissez une date de reprise dans le futur." in html
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert not LogEntry.objects.filter(object_id=str(subscription.pk)).exists()


def test_cancel_with_a_reason_from_the_list_asks_then_cancels_the_selection(care):
    first = subscribed("a@example.org")
    second = subscribed("b@example.org")
    untouched = subscribed("c@example.org")
    url = reverse(CHANGELIST)
    selection = {"action": "cancel_action", "_selected_action": [first.pk, second.pk]}
    # when customer care picks the action, they get a form and nothing happens yet
    response = care.post(url, {**selection, "index": 0})
    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    assert BasketSubscription.objects.filter(status="cancelled").count() == 0
    # a missing reason is asked again
    response = care.post(url, {**selection, "apply": "1", "reason": ""})
    assert response.status_code == 200
    assert BasketSubscription.objects.filter(status="cancelled").count() == 0
    # when they give the reason
    with mock.patch(
        "baskets.admin.subscription_cancel", wraps=subscription_services.subscription_cancel
    ) as service:
        response = care.post(
            url, {**selection, "apply": "1", "reason": "Déménage à Lyon (appel du 3/12)"}
        )
    # then both are cancelled through the service, with the reason, and logged
    assert response.status_code == 302
    assert service.call_count == 2
    cancelled = BasketSubscription.objects.filter(status="cancelled")
    assert {s.pk for s in cancelled} == {first.pk, second.pk}
    assert {s.cancel_reason for s in cancelled} == {"Déménage à Lyon (appel du 3/12)"}
    assert BasketSubscription.objects.get(pk=untouched.pk).status == SubscriptionStatus.ACTIVE
    assert LogEntry.objects.filter(user=care.user, action_flag=CHANGE).count() == 2
    # and a cancelled subscription offers no more actions
    html = care.get(change_url(first)).content.decode()
    assert action_url(first, "pause") not in html


def test_pause_from_the_list_reports_each_refusal(care):
    active = subscribed("a@example.org")
    cancelled = subscribed("b@example.org", status=SubscriptionStatus.CANCELLED)
    response = care.post(
        reverse(CHANGELIST),
        {
            "action": "pause_action",
            "_selected_action": [active.pk, cancelled.pk],
            "apply": "1",
            "until": "2037-01-05",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Cet abonnement est résilié." in html
    assert "1 abonnement(s) mis en pause." in html
    assert BasketSubscription.objects.get(pk=active.pk).status == SubscriptionStatus.PAUSED
    assert BasketSubscription.objects.get(pk=cancelled.pk).status == SubscriptionStatus.CANCELLED


def test_staff_who_may_only_view_cannot_act(viewer):
    subscription = subscribed("lea@example.org")
    # they see the page, without the buttons
    html = viewer.get(change_url(subscription)).content.decode()
    assert "lea@example.org" in html
    assert action_url(subscription, "pause") not in html
    # the action URLs are forbidden to them
    assert viewer.get(action_url(subscription, "pause")).status_code == 403
    assert viewer.post(action_url(subscription, "pause"), {"until": "2037-01-05"}).status_code == (
        403
    )
    assert viewer.post(action_url(subscription, "cancel"), {"reason": "x"}).status_code == 403
    # the list's actions are not offered, and posting one does nothing
    response = viewer.get(reverse(CHANGELIST))
    assert "cancel_action" not in response.content.decode()
    viewer.post(
        reverse(CHANGELIST),
        {"action": "cancel_action", "_selected_action": [subscription.pk], "apply": "1",
         "reason": "x"},
    )  # fmt: skip
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert not LogEntry.objects.exists()


def test_the_change_form_itself_saves_nothing(care):
    subscription = subscribed("lea@example.org")
    response = care.post(change_url(subscription), {"status": "cancelled"})
    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_subscriptions_are_neither_added_nor_deleted_in_admin(care, admin_client):
    subscription = subscribed("lea@example.org")
    add = reverse("admin:baskets_basketsubscription_add")
    delete = reverse("admin:baskets_basketsubscription_delete", args=[subscription.pk])
    assert admin_client.get(add).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert BasketSubscription.objects.filter(pk=subscription.pk).exists()
