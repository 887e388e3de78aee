from datetime import date

import pytest
from django.db import IntegrityError, transaction

from delivery.models import DeliveryDate, OrderDelivery
from delivery.services.booking import (
    DeliveryFullError,
    delivery_book,
    delivery_date_book,
    order_baskets_count,
    order_delivery_book,
    order_delivery_release,
)
from tests.delivery.conftest import paris
from tests.delivery.factories import (
    DeliveryDateFactory,
    DistrictFactory,
    order_delivery,
    order_in,
    paris_13e,
)

TUESDAY = date(2026, 12, 1)
NOW = paris(2026, 11, 23, 9)


@pytest.mark.django_db(transaction=True)
def test_last_places_are_never_overbooked(racer):
    # given 10 places left on a delivery date
    district = paris_13e()
    DeliveryDateFactory(district=district, date=TUESDAY, capacity=100, booked=90)
    # when 50 shoppers book one basket each at the same moment, on separate connections
    results = racer(50, delivery_date_book, district_id=district.pk, day=TUESDAY, quantity=1)
    # then exactly 10 succeed, 40 are told it is full, and capacity never goes below zero
    assert results.count(True) == 10
    assert results.count(False) == 40
    row = DeliveryDate.objects.get(district=district, date=TUESDAY)
    assert (row.booked, row.remaining) == (100, 0)


@pytest.mark.django_db(transaction=True)
def test_racing_first_bookings_create_the_date_once(racer):
    # given a date nobody booked yet, with a capacity of 5
    district = paris_13e(capacity=5)
    # when 20 shoppers race to book it
    results = racer(20, delivery_date_book, district_id=district.pk, day=TUESDAY, quantity=1)
    # then one row exists and exactly 5 are booked
    assert results.count(True) == 5
    assert DeliveryDate.objects.get(district=district, date=TUESDAY).booked == 5


@pytest.mark.django_db(transaction=True)
def test_racing_shoppers_spill_over_to_the_next_date_with_room(racer):
    # given 3 places on the next Tuesday and 100 on the following ones
    district = paris_13e()
    DeliveryDateFactory(district=district, date=TUESDAY, capacity=3)
    # when 10 shoppers book at once
    results = racer(10, delivery_book, district_id=district.pk, quantity=1, now=NOW)
    # then 3 get 1 December and 7 get 8 December, told it was postponed
    dates = sorted(r.date for r in results)
    assert dates == [TUESDAY] * 3 + [date(2026, 12, 8)] * 7
    assert sum(r.was_postponed for r in results) == 7


@pytest.mark.django_db
def test_the_database_refuses_an_overbooked_row():
    row = DeliveryDateFactory(district=paris_13e(), date=TUESDAY, capacity=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryDate.objects.filter(pk=row.pk).update(booked=3)


@pytest.mark.django_db
def test_a_full_date_offers_the_next_one_with_room():
    district = paris_13e()
    DeliveryDateFactory(district=district, date=TUESDAY, capacity=10, booked=10)
    booking = delivery_book(district_id=district.pk, quantity=1, now=NOW)
    assert booking.date == date(2026, 12, 8)
    assert booking.requested_date == TUESDAY
    assert booking.was_postponed


@pytest.mark.django_db
def test_a_booking_larger_than_any_capacity_is_refused(settings):
    settings.DELIVERY_HORIZON_WEEKS = 4
    district = paris_13e(capacity=3)
    with pytest.raises(DeliveryFullError, match="complètes|full"):
        delivery_book(district_id=district.pk, quantity=4, now=NOW)
    assert not DeliveryDate.objects.filter(booked__gt=0).exists()


@pytest.mark.django_db
def test_an_order_placed_books_its_baskets_and_stores_the_date(settings):
    # given Paris 13e and an order of 3 baskets (order_placed runs the booking)
    district = paris_13e()
    order = order_in(district, baskets=3)
    # then the order has a delivery on the district's next date and 3 places are booked
    delivery = OrderDelivery.objects.get(order=order)
    assert delivery.district == district
    assert delivery.baskets == 3 == order_baskets_count(order=order)
    assert delivery.delivery_date.weekday() == 1
    assert DeliveryDate.objects.get(district=district, date=delivery.delivery_date).booked == 3
    # and booking again is a no-op
    assert order_delivery_book(order_id=order.pk) == delivery
    assert DeliveryDate.objects.get(district=district, date=delivery.delivery_date).booked == 3


@pytest.mark.django_db
def test_an_order_outside_our_districts_books_nothing():
    paris_13e()
    order = order_in(None)
    assert not OrderDelivery.objects.filter(order=order).exists()
    assert not DeliveryDate.objects.exists()


@pytest.mark.django_db
def test_an_order_on_a_shared_postcode_uses_the_commune_of_the_address():
    DistrictFactory(name="Saint-Maur-des-Fossés", insee_code="94068", postcodes=["94210"])
    other = DistrictFactory(name="La Varenne", insee_code="94999", postcodes=["94210"])
    order = order_in(None, postcode="94210", commune="LA VARENNE")
    assert OrderDelivery.objects.get(order=order).district == other


@pytest.mark.django_db
def test_releasing_gives_the_places_back_once():
    district = paris_13e()
    delivery = order_delivery(district, day=TUESDAY, baskets=2)
    assert DeliveryDate.objects.get(district=district, date=TUESDAY).booked == 2
    assert order_delivery_release(order_delivery_id=delivery.pk) is True
    assert order_delivery_release(order_delivery_id=delivery.pk) is False
    assert DeliveryDate.objects.get(district=district, date=TUESDAY).booked == 0
    delivery.refresh_from_db()
    assert delivery.status == OrderDelivery.Status.RELEASED


@pytest.mark.django_db
def test_cancelling_an_order_gives_its_places_back(monkeypatch):
    # given a booked order of 2 baskets, and a pipeline where it may be cancelled
    from oscar.apps.order.models import Order

    monkeypatch.setattr(Order, "pipeline", {"Pending": ("Cancelled",), "Cancelled": ()})
    district = paris_13e()
    order = order_in(district, baskets=2)
    delivery = OrderDelivery.objects.get(order=order)
    order.status = "Pending"
    order.save()
    # when it is cancelled
    order.set_status("Cancelled")
    # then the places are free again
    assert DeliveryDate.objects.get(district=district, date=delivery.delivery_date).booked == 0
    assert OrderDelivery.objects.get(pk=delivery.pk).status == OrderDelivery.Status.RELEASED
