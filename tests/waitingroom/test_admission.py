"""Admission in Redis: the concurrency cap, the rate, idle expiry, leaving the queue, the
priority lane, and every queued visitor admitted in order (priority lane first)."""

from __future__ import annotations

import random

import pytest

from tests.waitingroom.conftest import T0, visitor_id
from waitingroom.admission import Decision, admission_visit, room_status
from waitingroom.store import Keys

pytestmark = pytest.mark.django_db

SECOND = 1000
MINUTE = 60 * SECOND


def test_a_visitor_is_let_in_while_there_is_room_and_stays_in_while_active(room):
    # given room for two shoppers
    room.configure(max_active=2)
    a, b, c = visitor_id("a"), visitor_id("b"), visitor_id("c")
    # when three arrive
    decisions = [room.visit(v) for v in (a, b, c)]
    # then two are in and the third waits first in line
    assert [d.state for d in decisions] == ["admitted", "admitted", "queued"]
    assert decisions[2].position == 1
    assert decisions[2].lane == "normal"
    # and the admitted keep their admission on every request (the fast path)
    assert room.visit(a, at_ms=T0 + 5 * SECOND).state == "admitted"
    assert room.redis().zcard(Keys.active) == 2


def test_idle_shoppers_free_their_slot_and_activity_slides_the_expiry(room):
    room.configure(max_active=2, idle_minutes=10)
    active, idle, waiting = visitor_id("active"), visitor_id("idle"), visitor_id("waiting")
    room.visit(active)
    room.visit(idle)
    assert room.visit(waiting).state == "queued"
    # the active shopper comes back every 4 minutes; the idle one never does
    for minute in (4, 8, 12):
        assert room.visit(active, at_ms=T0 + minute * MINUTE).state == "admitted"
        if minute < 10:
            assert room.visit(waiting, at_ms=T0 + minute * MINUTE).state == "queued"
    # then, 10 minutes after their last request, the idle shopper's slot goes to the next one
    assert room.visit(waiting, at_ms=T0 + 12 * MINUTE).state == "admitted"
    assert room.visit(active, at_ms=T0 + 16 * MINUTE).state == "admitted"
    # and the idle one, back later, has to queue (the room is full)
    assert room.visit(idle, at_ms=T0 + 16 * MINUTE).state == "queued"


def test_admissions_per_minute_are_limited_by_the_rate(room, settings):
    # given 6 admissions a minute (one every 10 s, bursts of one: 10 s worth, the queue page
    # refreshing every 5 s) and plenty of slots
    settings.WAITING_ROOM_REFRESH_SECONDS = 5
    room.configure(admit_per_minute=6, max_active=1000)
    crowd = [visitor_id(f"crowd{i}") for i in range(20)]
    # when 20 arrive at once
    first = [room.visit(v) for v in crowd]
    # then one gets in, the others queue in arrival order
    assert [d.state for d in first].count("admitted") == 1
    assert [d.position for d in first[1:]] == list(range(1, 20))
    # and each following 10 s lets exactly one more in, the head of the queue
    for step in range(1, 6):
        at = T0 + step * 10 * SECOND
        states = [room.visit(v, at_ms=at).state for v in crowd]
        assert states.count("admitted") == 1 + step
        assert states[: 1 + step] == ["admitted"] * (1 + step)


def test_the_burst_holds_a_whole_refresh_of_the_queue_page(room):
    # given 120 admissions a minute and the queue page reloading every 20 s (the room's fixture)
    room.configure(admit_per_minute=120, max_active=1000)
    crowd = [visitor_id(f"poll{i}") for i in range(100)]
    first = [room.visit(v).state for v in crowd]
    # then the first burst is 25 s worth (refresh + 5 s), so that visitors polling together
    # every 20 s are admitted at the configured rate and no admission is lost between polls
    assert first.count("admitted") == 50
    later = [room.visit(v, at_ms=T0 + 20 * SECOND).state for v in crowd]
    assert later.count("admitted") == 50 + 40


def test_a_rate_of_zero_admits_nobody_new_but_the_priority_lane(room):
    room.configure(admit_per_minute=0, max_active=10)
    assert room.visit(visitor_id("normal")).state == "queued"
    assert room.visit(visitor_id("normal"), at_ms=T0 + 10 * MINUTE).state == "queued"
    assert room.visit(visitor_id("vip"), priority=True).state == "admitted"
    decision = room.visit(visitor_id("late"))
    assert decision.estimated_wait_seconds is None


def test_a_queued_visitor_who_leaves_gives_up_their_place(room, settings):
    settings.WAITING_ROOM_QUEUE_TIMEOUT_SECONDS = 120
    room.configure(max_active=1)
    room.visit(visitor_id("inside"))
    gone, staying = visitor_id("gone"), visitor_id("staying")
    assert room.visit(gone).position == 1
    assert room.visit(staying).position == 2
    # when the first stops polling for more than the timeout while the second polls
    for second in (60, 110, 130):
        decision = room.visit(staying, at_ms=T0 + second * SECOND)
    # then the second moves up, and the first, back, starts again at the back
    assert decision.position == 1
    assert room.visit(gone, at_ms=T0 + 140 * SECOND).position == 2


def test_a_visitor_admitted_while_away_keeps_the_slot_only_for_the_queue_timeout(room, settings):
    settings.WAITING_ROOM_QUEUE_TIMEOUT_SECONDS = 120
    room.configure(max_active=1, idle_minutes=20)
    first, absent, third = visitor_id("first"), visitor_id("absent"), visitor_id("third")
    room.visit(first)
    room.visit(absent)
    room.visit(third)
    # both wait, their pages polling every minute, while the first shopper is idle
    for minute in range(1, 20):
        room.visit(absent, at_ms=T0 + minute * MINUTE)
        room.visit(third, at_ms=T0 + minute * MINUTE)
    # at 20 minutes the first shopper's slot is freed by the third's poll: it goes to the head of
    # the queue, the absent visitor, whose page has just been closed
    assert room.visit(third, at_ms=T0 + 20 * MINUTE).position == 1
    # the absent visitor does not come back: after the queue timeout, the slot is the third's
    assert room.visit(third, at_ms=T0 + 20 * MINUTE + 110 * SECOND).state == "queued"
    assert room.visit(third, at_ms=T0 + 20 * MINUTE + 121 * SECOND).state == "admitted"


def test_the_priority_lane_skips_the_queue_within_the_cap(room, settings):
    settings.WAITING_ROOM_REFRESH_SECONDS = 5  # bursts of 10 s worth: one admission
    room.configure(admit_per_minute=6, max_active=3)
    # given the rate's token spent and a normal queue
    room.visit(visitor_id("n1"))
    assert room.visit(visitor_id("n2")).state == "queued"
    # when a priority visitor arrives: a slot is free, the rate does not hold them back
    assert room.visit(visitor_id("p1"), priority=True).state == "admitted"
    assert room.visit(visitor_id("p2"), priority=True).state == "admitted"
    # then, the cap reached, the next priority visitor waits ahead of the normal queue
    p3 = room.visit(visitor_id("p3"), priority=True)
    assert (p3.state, p3.position, p3.lane) == ("queued", 1, "priority")
    assert room.visit(visitor_id("n2")).position == 2


def test_a_queued_visitor_who_becomes_priority_moves_to_the_priority_lane(room):
    room.configure(max_active=1)
    room.visit(visitor_id("inside"))
    for name in ("a", "b", "c"):
        room.visit(visitor_id(name))
    assert room.visit(visitor_id("c")).position == 3
    moved = room.visit(visitor_id("c"), priority=True)
    assert (moved.position, moved.lane) == (1, "priority")
    assert room.visit(visitor_id("a")).position == 2


def test_every_queued_visitor_is_admitted_in_order_priority_lane_first(room):
    """Many arrivals, 5 slots; admitted shoppers leave at random; everybody waiting polls in a
    random order. At every step, those admitted out of the queue are exactly the first ones of
    the expected order: priority arrivals by arrival, then the others by arrival."""
    rng = random.Random(9)
    room.configure(admit_per_minute=60, max_active=5, idle_minutes=1)
    now = T0
    first_in = [visitor_id(f"early{i}") for i in range(5)]
    for v in first_in:
        assert room.visit(v, at_ms=now).state == "admitted"
    arrivals = []
    for i in range(60):
        priority = i % 7 == 3
        arrivals.append((visitor_id(f"{'p' if priority else 'n'}{i:02d}"), priority))
    for v, priority in arrivals:
        now += 50
        assert room.visit(v, at_ms=now, priority=priority).state == "queued"
    expected = [v for v, p in arrivals if p] + [v for v, p in arrivals if not p]
    priority_of = dict(arrivals)
    shopping: dict[str, int] = {v: rng.randint(1, 4) for v in first_in}  # steps left to shop
    admitted_order: list[str] = []
    for _step in range(400):
        now += 15 * 1000
        # shoppers still shopping come back; those done stop (and expire after a minute)
        for v in list(shopping):
            shopping[v] -= 1
            if shopping[v] > 0:
                assert room.visit(v, at_ms=now).state == "admitted"
        waiting = [v for v in expected if v not in admitted_order]
        rng.shuffle(waiting)
        for v in waiting:
            decision = room.visit(v, at_ms=now, priority=priority_of[v])
            if decision.state == "admitted":
                admitted_order.append(v)
                shopping[v] = rng.randint(1, 4)
        inside = set(admitted_order)
        # at every step: the admitted are a prefix of the expected order
        assert inside == set(expected[: len(inside)])
        if len(admitted_order) == len(expected):
            break
    assert len(admitted_order) == len(expected), "every queued visitor is eventually admitted"
    assert room.redis().zcard(Keys.queue) == room.redis().zcard(Keys.priority) == 0


def test_switched_off_by_ops_everybody_is_let_in_untracked(room):
    room.configure(enabled=False, max_active=0)
    assert room.visit(visitor_id()).state == "open"
    assert room.redis().zcard(Keys.active) == 0


def test_settings_lost_by_redis_are_reloaded_from_the_database(room):
    from waitingroom.models import WaitingRoomSettings

    WaitingRoomSettings.objects.create(
        pk=1, enabled=True, admit_per_minute=60, max_active=1, idle_minutes=5
    )
    room.redis().delete(Keys.settings)
    room.visit(visitor_id("a"))
    assert room.visit(visitor_id("b")).state == "queued"
    assert room.redis().hget(Keys.settings, "max_active") == b"1"


def test_without_redis_everybody_is_let_in_and_it_is_logged(room, settings, caplog):
    settings.WAITING_ROOM_REDIS_URL = "redis://127.0.0.1:8799/12"  # nothing listens there
    from waitingroom.store import redis_reset

    redis_reset()
    decision = admission_visit(visitor=visitor_id())
    assert decision.state == "unavailable"
    assert decision.is_admitted
    assert "Redis unavailable" in caplog.text
    assert room_status().available is False


def test_estimated_wait_uses_the_slower_of_the_rate_and_what_was_observed():
    queued = Decision(state="queued", position=30, lane="normal", admit_per_minute=60)
    assert queued.estimated_wait_seconds == 30
    slowed = Decision(
        state="queued", position=30, lane="normal", admit_per_minute=60, admitted_last_5_minutes=50
    )
    assert slowed.estimated_wait_seconds == 180  # 10 a minute observed
    assert Decision(state="admitted").estimated_wait_seconds == 0


def test_status_counts_queues_active_shoppers_and_admissions(room):
    room.configure(max_active=2, admit_per_minute=600)
    for name in ("a", "b", "c", "d"):
        room.visit(visitor_id(name), at_ms=None)
    room.visit(visitor_id("p"), priority=True, at_ms=None)
    status = room_status().as_dict()
    assert status["active"] == 2
    assert status["queued"] == 3
    assert status["queued_priority"] == 1
    assert status["admitted_last_minute"] == 2
    assert status["admit_per_minute"] == 600
    assert status["totals"]["admitted"] == 2
