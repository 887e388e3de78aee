"""Weekday and capacity changes, closed dates: who moves, and each shopper is told."""

from datetime import date

import pytest
from django.core import mail
from django.test import override_settings

from delivery.models import DeliveryDate, DeliveryMove, District, OrderDelivery, Weekday
from delivery.services.reschedule import (
    RescheduleImpossibleError,
    delivery_moves_notify,
    district_reschedule,
    district_reschedule_plan,
)
from delivery.tasks import district_reschedule_task
from tests.delivery.conftest import paris
from tests.delivery.factories import ClosedDateFactory, order_delivery, paris_13e

pytestmark = pytest.mark.django_db

NOW = paris(2026, 11, 23, 9)  # Monday; the next orderable Tuesday is 1 December
DEC_1, DEC_8, DEC_15 = date(2026, 12, 1), date(2026, 12, 8), date(2026, 12, 15)


def booked(district, day) -> int:
    row = DeliveryDate.objects.filter(district=district, date=day).first()
    return row.booked if row else 0


def test_a_weekday_change_previews_then_moves_everyone_after_their_date():
    # given two orders on Tuesday 1 and 8 December
    district = paris_13e()
    a = order_delivery(district, day=DEC_1, email="a@example.org")
    b = order_delivery(district, day=DEC_8, email="b@example.org")
    # when ops preview Thursday
    plan = district_reschedule_plan(
        district_id=district.pk, weekday=Weekday.THURSDAY, capacity=100, now=NOW
    )
    # then each moves to the Thursday after its Tuesday, and nothing changed yet
    assert [(m.order_number, m.from_date, m.to_date) for m in plan.moves] == [
        (str(a.order.number), DEC_1, date(2026, 12, 3)),
        (str(b.order.number), DEC_8, date(2026, 12, 10)),
    ]
    assert OrderDelivery.objects.get(pk=a.pk).delivery_date == DEC_1
    assert District.objects.get(pk=district.pk).weekday == Weekday.TUESDAY
    # when confirmed
    moves = district_reschedule(district_id=district.pk, weekday=Weekday.THURSDAY, now=NOW)
    # then the district, the bookings and the counts all follow
    assert len(moves) == 2
    assert District.objects.get(pk=district.pk).weekday == Weekday.THURSDAY
    assert OrderDelivery.objects.get(pk=a.pk).delivery_date == date(2026, 12, 3)
    assert (booked(district, DEC_1), booked(district, date(2026, 12, 3))) == (0, 1)
    assert {m.reason for m in moves} == {DeliveryMove.Reason.WEEKDAY_CHANGED}
    # and running it again moves nothing
    assert district_reschedule(district_id=district.pk, weekday=Weekday.THURSDAY, now=NOW) == []


def test_lowering_capacity_moves_the_latest_bookings_to_the_next_date_with_room():
    # given 4 single-basket orders on 1 December and 2 on 8 December, capacity 100
    district = paris_13e()
    first = [order_delivery(district, day=DEC_1) for _ in range(4)]
    [order_delivery(district, day=DEC_8) for _ in range(2)]
    # when capacity drops to 3
    moves = district_reschedule(district_id=district.pk, capacity=3, now=NOW)
    # then the last booked on 1 December moves to 8 December (which has room for one more)
    assert [(m.order_delivery_id, m.from_date, m.to_date) for m in moves] == [
        (first[-1].pk, DEC_1, DEC_8)
    ]
    assert [booked(district, d) for d in (DEC_1, DEC_8, DEC_15)] == [3, 3, 0]
    assert (
        DeliveryDate.objects.filter(district=district, date__gte=DEC_1).exclude(capacity=3).count()
        == 0
    )


def test_overflow_cascades_over_several_dates():
    district = paris_13e()
    [order_delivery(district, day=DEC_1) for _ in range(5)]
    [order_delivery(district, day=DEC_8) for _ in range(2)]
    district_reschedule(district_id=district.pk, capacity=2, now=NOW)
    assert [booked(district, d) for d in (DEC_1, DEC_8, DEC_15, date(2026, 12, 22))] == [
        2, 2, 2, 1
    ]  # fmt: skip


def test_a_change_that_would_overbook_changes_nothing(settings):
    # given 5 baskets booked, and only 2 weeks ahead to find room
    settings.DELIVERY_HORIZON_WEEKS = 2
    district = paris_13e()
    delivery = order_delivery(district, day=DEC_1, baskets=5)
    # when capacity would drop to 4 (one order of 5 baskets fits nowhere)
    with pytest.raises(RescheduleImpossibleError, match="Rien n'a été modifié"):
        district_reschedule(district_id=district.pk, capacity=4, now=NOW)
    # then nothing moved, nothing changed
    assert District.objects.get(pk=district.pk).capacity == 100
    assert OrderDelivery.objects.get(pk=delivery.pk).delivery_date == DEC_1
    assert booked(district, DEC_1) == 5
    assert not DeliveryMove.objects.exists()


def test_a_closed_date_moves_its_bookings():
    district = paris_13e()
    delivery = order_delivery(district, day=DEC_8)
    ClosedDateFactory(district=district, date=DEC_8)
    [move] = district_reschedule(district_id=district.pk, now=NOW)
    assert (move.to_date, move.reason) == (DEC_15, DeliveryMove.Reason.DATE_CLOSED)
    assert OrderDelivery.objects.get(pk=delivery.pk).delivery_date == DEC_15


def test_each_moved_shopper_is_emailed_once_in_french():
    district = paris_13e()
    order_delivery(district, day=DEC_1, email="a@example.org")
    order_delivery(district, day=DEC_1, email="b@example.org")
    district_reschedule(district_id=district.pk, weekday=Weekday.FRIDAY, now=NOW)
    assert delivery_moves_notify() == 2
    assert delivery_moves_notify() == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.org", "b@example.org"]
    message = mail.outbox[0]
    assert "votre livraison est déplacée au vendredi 4 décembre" in message.subject
    assert "devait être livrée le mardi 1 décembre 2026" in message.body
    assert "Paris 13e est désormais livré chaque vendredi" in message.body
    assert not DeliveryMove.objects.filter(notified_at__isnull=True).exists()


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
def test_the_task_reschedules_and_emails():
    # given an order on the next Tuesday (dates from the real clock)
    from delivery.calendar import delivery_dates_upcoming

    district = paris_13e()
    day = delivery_dates_upcoming(district=district, count=1)[0]
    delivery = order_delivery(district, day=day, email="a@example.org")
    # when the task runs for a move to Wednesday
    result = district_reschedule_task.delay(district_id=district.pk, weekday=Weekday.WEDNESDAY)
    # then the order is on a Wednesday after its Tuesday and its shopper was told
    assert result.get() == 1
    moved = OrderDelivery.objects.get(pk=delivery.pk).delivery_date
    assert moved.weekday() == Weekday.WEDNESDAY
    assert moved > day
    assert [m.to for m in mail.outbox] == [["a@example.org"]]


def test_no_email_when_nothing_moves():
    district = paris_13e()
    order_delivery(district, day=DEC_1)
    district_reschedule(district_id=district.pk, capacity=50, now=NOW)
    assert delivery_moves_notify() == 0
    assert mail.outbox == []
