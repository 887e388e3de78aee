"""« Is my district's next delivery already full? » on the queue page: a per-postcode summary
in Redis, computed from the delivery calendar and bookings, read without any database query."""

from __future__ import annotations

import pytest
from django.test import Client

from delivery.calendar import delivery_dates_upcoming
from tests.delivery.factories import DeliveryDateFactory, DistrictFactory, paris_13e
from tests.waitingroom.test_pages import QUEUE, fill, queued
from waitingroom.fullness import (
    delivery_fullness_lookup,
    delivery_fullness_refresh,
    delivery_fullness_refresh_schedule,
)
from waitingroom.store import Keys
from waitingroom.tasks import delivery_fullness_refresh_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def districts():
    full = paris_13e(capacity=3)
    first, second = delivery_dates_upcoming(district=full, count=2)
    DeliveryDateFactory(district=full, date=first, capacity=3, booked=3)
    room_left = DistrictFactory(
        name="Paris 14e Arrondissement", insee_code="75114", postcodes=["75014"], capacity=10
    )
    DistrictFactory(
        name="Montreuil", insee_code="93048", postcodes=["93100"], is_active=False, weekday=None
    )
    return {"full": (full, first, second), "room": room_left}


def shown(postcode: str, django_assert_num_queries) -> str:
    client = Client()
    queued(client)
    with django_assert_num_queries(0):
        response = client.get(QUEUE, {"suite": "/", "code_postal": postcode})
    assert response.status_code == 200
    return response.content.decode()


def test_the_summary_says_which_next_dates_are_full(room, districts):
    written = delivery_fullness_refresh()
    assert written == 3
    full, first, second = districts["full"]
    answer = delivery_fullness_lookup(postcode="75013")
    [district] = answer.districts
    assert (district.name, district.first_date, district.date_with_room) == (
        "Paris 13e",
        first,
        second,
    )
    assert district.first_is_full
    [roomy] = delivery_fullness_lookup(postcode="75014").districts
    assert not roomy.first_is_full
    [closed] = delivery_fullness_lookup(postcode="93100").districts
    assert not closed.is_open
    assert delivery_fullness_lookup(postcode="99999").districts == []


def test_the_queue_page_answers_from_the_summary_without_a_query(
    room, districts, django_assert_num_queries
):
    fill(room)
    delivery_fullness_refresh()
    full, first, second = districts["full"]
    html = shown("75 013", django_assert_num_queries)
    assert f"Paris 13e : la prochaine livraison, le mardi {first.day}" in html
    assert "est complète" in html
    assert f"La première date avec de la place est le mardi {second.day}" in html
    assert "il reste de la place" in shown("75014", django_assert_num_queries)
    assert "Montreuil : pas encore livré" in shown("93100", django_assert_num_queries)
    assert "Nous ne livrons pas encore le 99999" in shown("99999", django_assert_num_queries)
    assert "Un code postal a cinq chiffres" in shown("750", django_assert_num_queries)


def test_before_any_summary_the_page_says_it_cannot_tell(room, django_assert_num_queries):
    fill(room)
    assert "Nous ne pouvons pas le dire" in shown("75013", django_assert_num_queries)


def test_the_task_refreshes_the_summary_and_a_booking_schedules_it_once(
    room, districts, django_capture_on_commit_callbacks, monkeypatch
):
    # the beat's task writes the summary
    assert delivery_fullness_refresh_task() == 3
    assert room.redis().hexists(Keys.fullness, "75013")
    # a burst of changes schedules one refresh, after commit
    sent = []
    monkeypatch.setattr(delivery_fullness_refresh_task, "apply_async", lambda **kw: sent.append(kw))
    full, first, second = districts["full"]
    with django_capture_on_commit_callbacks(execute=True):
        DeliveryDateFactory(district=full, date=second, capacity=3, booked=1)
        DeliveryDateFactory(district=districts["room"], date=second, capacity=3, booked=1)
    assert len(sent) == 1
    assert sent[0]["countdown"] == 30
    # the task clears the mark, so the next change schedules again
    delivery_fullness_refresh_task()
    assert delivery_fullness_refresh_schedule() is True
    assert len(sent) == 2


def test_with_the_room_off_nothing_is_scheduled(districts, monkeypatch, settings):
    settings.WAITING_ROOM_ENABLED = False
    sent = []
    monkeypatch.setattr(delivery_fullness_refresh_task, "apply_async", lambda **kw: sent.append(kw))
    assert delivery_fullness_refresh_schedule() is False
    assert delivery_fullness_refresh_task() == 0
    assert sent == []
