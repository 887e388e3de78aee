"""Seeding districts, the demo map, opening rules, closed dates."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from delivery.models import ClosedDate, District, Postcode, Weekday
from delivery.services.districts import district_close, district_open
from essentiels.demo.districts import districts_load_demo
from tests.delivery.factories import DistrictFactory, paris_13e

pytestmark = pytest.mark.django_db


def test_load_districts_seeds_every_commune_once_and_is_idempotent():
    call_command("load_districts", verbosity=0)
    call_command("load_districts", verbosity=0)
    assert District.objects.count() == 143
    assert Postcode.objects.count() == 147
    paris_16e = District.objects.get(insee_code="75116")
    assert sorted(paris_16e.postcodes.values_list("code", flat=True)) == ["75016", "75116"]
    assert paris_16e.name == "Paris 16e Arrondissement"
    assert paris_16e.department == "75"
    assert not District.objects.open().exists()


def test_reloading_keeps_what_ops_chose():
    call_command("load_districts", verbosity=0)
    montreuil = District.objects.get(insee_code="93048")
    district_open(district_id=montreuil.pk, weekday=Weekday.FRIDAY, capacity=40)
    call_command("load_districts", verbosity=0)
    montreuil.refresh_from_db()
    assert (montreuil.is_active, montreuil.weekday, montreuil.capacity) == (
        True,
        Weekday.FRIDAY,
        40,
    )


def test_the_demo_opens_the_arrondissements_and_a_few_suburbs():
    districts_load_demo()
    districts_load_demo()
    open_ = District.objects.open()
    assert open_.filter(department="75").count() == 20
    assert open_.exclude(department="75").count() >= 3
    assert District.objects.get(insee_code="75113").weekday == Weekday.TUESDAY
    assert set(open_.values_list("weekday", flat=True)) == {0, 1, 2, 3, 4}
    assert District.objects.filter(is_active=False).count() == 143 - open_.count()


def test_a_district_cannot_be_open_without_weekday_and_capacity():
    with pytest.raises(IntegrityError), transaction.atomic():
        DistrictFactory(weekday=None, is_active=True, postcodes=["92100"])
    district = DistrictFactory(weekday=None, capacity=0, is_active=False)
    with pytest.raises(ValidationError) as raised:
        district_open(district_id=district.pk)
    assert "jour de livraison" in str(raised.value)
    assert "capacité" in str(raised.value)
    assert "code postal" in str(raised.value)
    assert not District.objects.get(pk=district.pk).is_active


def test_closing_keeps_bookings_and_stops_new_orders():
    from delivery.postcodes import postcode_lookup

    district = paris_13e()
    district_close(district_id=district.pk)
    assert not postcode_lookup(postcode="75013").is_served


def test_a_date_is_closed_once_per_district_and_once_for_everyone():
    district = paris_13e()
    ClosedDate.objects.create(date=date(2026, 12, 8), district=district)
    ClosedDate.objects.create(date=date(2026, 12, 8), district=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosedDate.objects.create(date=date(2026, 12, 8), district=district)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosedDate.objects.create(date=date(2026, 12, 8), district=None)


def test_an_order_that_finds_no_room_is_refused_not_half_placed(settings):
    # given a district whose every date within the horizon is full
    from oscar.apps.order.exceptions import UnableToPlaceOrder

    from delivery.receivers import book_delivery_on_order_placed
    from tests.delivery.factories import order_in

    settings.DELIVERY_HORIZON_WEEKS = 2
    district = paris_13e(capacity=1)
    order = order_in(None)  # placed outside any district: nothing booked
    order.shipping_address.postcode = "75013"
    order.shipping_address.save()
    order.lines.update(quantity=2)
    # when the order_placed receiver books it
    with pytest.raises(UnableToPlaceOrder, match="complètes"):
        book_delivery_on_order_placed(sender=None, order=order)
    # then nothing was booked
    assert not district.order_deliveries.exists()
