"""Several app servers admitting at once never admit more than the limits: processes (as
gunicorn workers are) and threads racing against the same Redis."""

from __future__ import annotations

import multiprocessing

import pytest

from tests.waitingroom.conftest import T0, visitor_id
from waitingroom.admission import admission_visit
from waitingroom.store import Keys, redis_reset

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

RACERS = 40


def _worker(index: int, barrier, results, now_ms) -> None:
    # A new process, like another app server: its own Redis connections.
    redis_reset()
    barrier.wait()
    results[index] = admission_visit(visitor=f"racer-{index:04d}-process", now_ms=now_ms).state


def _race_processes(now_ms: int | None) -> list[str]:
    context = multiprocessing.get_context("fork")
    manager = context.Manager()
    try:
        results = manager.list([""] * RACERS)
        barrier = context.Barrier(RACERS)
        processes = [
            context.Process(target=_worker, args=(i, barrier, results, now_ms))
            for i in range(RACERS)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert all(process.exitcode == 0 for process in processes)
        return list(results)
    finally:
        manager.shutdown()


def test_racing_processes_never_admit_more_than_the_active_shoppers_cap(room):
    # given room for 10 shoppers and no rate limit to speak of
    room.configure(max_active=10, admit_per_minute=100_000)
    # when 40 app-server processes let a new visitor in at the same moment (Redis's clock)
    states = _race_processes(now_ms=None)
    # then exactly 10 are admitted, the other 30 queue with distinct places
    assert states.count("admitted") == 10
    assert states.count("queued") == 30
    assert room.redis().zcard(Keys.active) == 10
    assert room.redis().zcard(Keys.queue) == 30


def test_racing_processes_never_admit_faster_than_the_rate(room, settings):
    # given 60 admissions a minute: bursts of 10 (10 s worth with the queue page refreshing
    # every 5 s), plenty of slots
    settings.WAITING_ROOM_REFRESH_SECONDS = 5
    room.configure(max_active=1000, admit_per_minute=60)
    # when 40 processes let a visitor in at the same instant
    states = _race_processes(now_ms=T0)
    # then the burst, and not one more, is admitted
    assert states.count("admitted") == 10
    assert room.redis().zcard(Keys.active) == 10


def test_racing_threads_never_admit_more_than_the_cap(room, racer):
    room.configure(max_active=7, admit_per_minute=100_000)
    ids = iter(range(RACERS))
    states = racer(
        RACERS, lambda: admission_visit(visitor=visitor_id(f"thread{next(ids):03d}")).state
    )
    assert states.count("admitted") == 7
    assert states.count("queued") == RACERS - 7
    assert room.redis().zcard(Keys.active) == 7
