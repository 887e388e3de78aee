"""Ops in Django admin: what they may do, opening a commune, rescheduling, closed dates, charts."""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from oscar.test.factories import ProductFactory, UserFactory

from delivery.calendar import delivery_dates_upcoming
from delivery.models import ClosedDate, DeliveryDate, District, OrderDelivery, Weekday
from delivery.postcodes import postcode_lookup
from delivery.shipping import shipping_methods_for
from essentiels.roles import OPS_GROUP, role_permissions
from tests.delivery.factories import (
    DeliveryDateFactory,
    DistrictFactory,
    order_delivery,
    paris_13e,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_client(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Ops"))
    client.force_login(user)
    return client


@pytest.fixture
def montreuil():
    return DistrictFactory(
        name="Montreuil",
        insee_code="93048",
        department="93",
        is_active=False,
        weekday=None,
        capacity=0,
        postcodes=["93100"],
    )


def change_data(district: District, **changes) -> dict:
    data = {
        "name": district.name,
        "department": district.department,
        "latitude": str(district.latitude),
        "longitude": str(district.longitude),
        "weekday": "" if district.weekday is None else str(district.weekday),
        "capacity": str(district.capacity),
        "opens_on": "",
        "shipping_fee": str(district.shipping_fee),
        "free_shipping_threshold": "",
        "postcodes-TOTAL_FORMS": "0",
        "postcodes-INITIAL_FORMS": "0",
        "postcodes-MIN_NUM_FORMS": "0",
        "postcodes-MAX_NUM_FORMS": "1000",
        "_save": "Enregistrer",
    }
    if district.is_active:
        data["is_active"] = "on"
    data.update({k: str(v) for k, v in changes.items()})
    return data


def test_the_ops_group_has_exactly_the_delivery_permissions():
    group = Group.objects.get(name=OPS_GROUP)
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert codenames == role_permissions(name=OPS_GROUP)
    # delivery, and they steer the waiting room: nothing about products, prices or customers
    assert {app_label for app_label, _codename in codenames} == {"delivery", "waitingroom"}


def test_ops_cannot_edit_products_but_can_edit_districts(ops_client):
    product = ProductFactory()
    district = paris_13e()
    product_url = reverse("admin:catalogue_product_change", args=[product.pk])
    assert ops_client.get(product_url).status_code == 403
    assert ops_client.get(reverse("admin:catalogue_product_changelist")).status_code == 403
    district_url = reverse("admin:delivery_district_change", args=[district.pk])
    assert ops_client.get(district_url).status_code == 200
    assert ops_client.get(reverse("admin:delivery_deliverydate_changelist")).status_code == 200


def test_ops_open_a_suburb_commune_which_becomes_orderable(ops_client, montreuil):
    # given Montreuil, closed, without a weekday
    assert not postcode_lookup(postcode="93100").is_served
    # when ops open it on Fridays with 60 baskets per date
    url = reverse("admin:delivery_district_change", args=[montreuil.pk])
    response = ops_client.post(
        url, change_data(montreuil, is_active="on", weekday=Weekday.FRIDAY, capacity=60)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    # then the postcode is served, on Fridays
    lookup = postcode_lookup(postcode="93100")
    assert lookup.is_served
    assert lookup.district.weekday == Weekday.FRIDAY
    from oscar.apps.basket.models import Basket
    from oscar.apps.order.models import ShippingAddress

    [method] = shipping_methods_for(
        cart=Basket.objects.create(), shipping_addr=ShippingAddress(postcode="93100")
    )
    assert method.delivery_date.weekday() == Weekday.FRIDAY


def test_opening_without_a_weekday_is_refused_with_a_message(ops_client, montreuil):
    url = reverse("admin:delivery_district_change", args=[montreuil.pk])
    response = ops_client.post(url, change_data(montreuil, is_active="on"))
    assert response.status_code == 200
    assert "doit avoir un jour de livraison" in response.content.decode()
    assert not District.objects.get(pk=montreuil.pk).is_active


def test_the_open_action_names_what_is_missing(ops_client, montreuil):
    response = ops_client.post(
        reverse("admin:delivery_district_changelist"),
        {"action": "open_districts", "_selected_action": [montreuil.pk]},
        follow=True,
    )
    assert "Montreuil ne peut pas encore ouvrir : choisissez son jour de livraison" in (
        response.content.decode()
    )


def test_weekday_and_capacity_are_locked_once_shoppers_are_booked(ops_client):
    district = paris_13e()
    day = delivery_dates_upcoming(district=district, count=1)[0]
    order_delivery(district, day=day)
    url = reverse("admin:delivery_district_change", args=[district.pk])
    html = ops_client.get(url).content.decode()
    assert 'name="weekday"' not in html
    assert reverse("admin:delivery_district_reschedule", args=[district.pk]) in html


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
def test_a_weekday_change_is_previewed_then_confirmed_then_shoppers_emailed(
    ops_client, django_capture_on_commit_callbacks
):
    # given an order on the next Tuesday
    district = paris_13e()
    day = delivery_dates_upcoming(district=district, count=1)[0]
    delivery = order_delivery(district, day=day, email="a@example.org")
    url = reverse("admin:delivery_district_reschedule", args=[district.pk])
    # when ops ask for Thursday
    response = ops_client.post(url, {"weekday": Weekday.THURSDAY, "capacity": 100})
    html = response.content.decode()
    # then they see who would move, and nothing moved yet
    assert "1 commande à venir sera déplacée" in html
    assert str(delivery.order.number) in html
    assert "a@example.org" in html
    assert District.objects.get(pk=district.pk).weekday == Weekday.TUESDAY
    assert mail.outbox == []
    # when they confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(
            url, {"weekday": Weekday.THURSDAY, "capacity": 100, "confirm": "1"}
        )
    # then the task moved the order and emailed its shopper
    assert response.status_code == 302
    assert District.objects.get(pk=district.pk).weekday == Weekday.THURSDAY
    assert OrderDelivery.objects.get(pk=delivery.pk).delivery_date.weekday() == Weekday.THURSDAY
    assert [m.to for m in mail.outbox] == [["a@example.org"]]


def test_a_change_that_would_overbook_is_refused_in_admin(ops_client, settings):
    settings.DELIVERY_HORIZON_WEEKS = 2
    district = paris_13e()
    day = delivery_dates_upcoming(district=district, count=1)[0]
    order_delivery(district, day=day, baskets=8)
    url = reverse("admin:delivery_district_reschedule", args=[district.pk])
    response = ops_client.post(url, {"weekday": Weekday.TUESDAY, "capacity": 5})
    assert response.status_code == 400
    assert "augmentez la capacité ou choisissez un autre jour" in response.content.decode()
    assert District.objects.get(pk=district.pk).capacity == 100


def test_a_change_without_bookings_applies_at_once(ops_client, montreuil):
    url = reverse("admin:delivery_district_reschedule", args=[montreuil.pk])
    response = ops_client.post(url, {"weekday": Weekday.MONDAY, "capacity": 40})
    assert "Aucune commande à venir ne doit être déplacée" in response.content.decode()
    ops_client.post(url, {"weekday": Weekday.MONDAY, "capacity": 40, "confirm": "1"})
    montreuil.refresh_from_db()
    assert (montreuil.weekday, montreuil.capacity) == (Weekday.MONDAY, 40)


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
def test_closing_a_booked_date_moves_its_orders_and_tells_shoppers(
    ops_client, django_capture_on_commit_callbacks
):
    district = paris_13e()
    first, second = delivery_dates_upcoming(district=district, count=2)
    delivery = order_delivery(district, day=first, email="a@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(
            reverse("admin:delivery_closeddate_add"),
            {"date": first.isoformat(), "district": district.pk, "reason": "Grève"},
            follow=True,
        )
    assert "1 commande était réservée à cette date" in response.content.decode()
    assert ClosedDate.objects.filter(date=first).exists()
    assert OrderDelivery.objects.get(pk=delivery.pk).delivery_date == second
    assert [m.to for m in mail.outbox] == [["a@example.org"]]


def test_ops_see_booked_vs_capacity_as_a_table_and_a_chart(ops_client):
    district = paris_13e()
    day = delivery_dates_upcoming(district=district, count=1)[0]
    DeliveryDateFactory(district=district, date=day, capacity=100, booked=73)
    html = ops_client.get(reverse("admin:delivery_deliverydate_changelist")).content.decode()
    assert "73" in html
    assert "width:73%" in html
    chart = ops_client.get(reverse("admin:delivery_district_chart", args=[district.pk]))
    assert chart.status_code == 200
    assert "height: 73%" in chart.content.decode()
    overall = ops_client.get(reverse("admin:delivery_deliverydate_chart"))
    assert overall.status_code == 200


def test_a_date_capacity_below_what_is_booked_is_refused(ops_client):
    district = paris_13e()
    row = DeliveryDateFactory(district=district, date=date(2030, 1, 1), capacity=10, booked=6)
    url = reverse("admin:delivery_deliverydate_change", args=[row.pk])
    response = ops_client.post(url, {"capacity": 5})
    assert response.status_code == 200
    assert "Plus de paniers réservés que la capacité" in response.content.decode()
    assert DeliveryDate.objects.get(pk=row.pk).capacity == 10


def test_ops_see_the_waitlist_per_postcode(ops_client, montreuil):
    from tests.delivery.factories import WaitlistEntryFactory

    WaitlistEntryFactory.create_batch(3, postcode="93100", district=montreuil)
    WaitlistEntryFactory(postcode="69001", district=None)
    html = ops_client.get(reverse("admin:delivery_waitlistentry_per_postcode")).content.decode()
    assert "93100" in html
    assert "Montreuil" in html
    assert "<td>3</td>" in html
    listing = ops_client.get(reverse("admin:delivery_district_changelist") + "?o=8.-1")
    assert listing.status_code == 200
