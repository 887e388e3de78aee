"""The waiting room against the real Redis (REDIS_URL's database) and PostgreSQL.

The room is off in the test settings (as in dev); these tests switch it on with ``room``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings as django_settings

from waitingroom.admission import admission_visit, settings_mirror
from waitingroom.store import client, redis_reset

T0 = 1_800_000_000_000  # a fixed Redis-clock time (ms) for the service-level tests
_visitors = itertools.count(1)


def visitor_id(name: str = "") -> str:
    """A visitor id like the tokens' (16+ characters)."""
    return f"visitor-{name or next(_visitors):0>10}"


def _wipe() -> None:
    # This run's own Redis, whatever a test pointed the room at.
    conn = redis.Redis.from_url(django_settings.REDIS_URL)
    for pattern in ("{waitingroom}*", "waitingroom:*"):
        keys = list(conn.scan_iter(match=pattern, count=1000))
        if keys:
            conn.delete(*keys)


@dataclass
class Room:
    def configure(
        self,
        *,
        admit_per_minute: int = 6000,
        max_active: int = 1000,
        idle_minutes: int = 20,
        enabled: bool = True,
    ) -> Room:
        assert settings_mirror(
            values={
                "enabled": enabled,
                "admit_per_minute": admit_per_minute,
                "max_active": max_active,
                "idle_minutes": idle_minutes,
            }
        )
        return self

    def visit(self, visitor: str, *, at_ms: int = T0, priority: bool = False):
        return admission_visit(visitor=visitor, priority=priority, now_ms=at_ms)

    def redis(self):
        return client()


@pytest.fixture
def room(settings):
    """The room switched on, on this run's Redis database, empty, with generous limits."""
    settings.WAITING_ROOM_ENABLED = True
    settings.WAITING_ROOM_REDIS_URL = ""
    settings.WAITING_ROOM_QUEUE_TIMEOUT_SECONDS = 300
    settings.WAITING_ROOM_REFRESH_SECONDS = 20
    redis_reset()
    _wipe()
    yield Room().configure()
    redis_reset()
    _wipe()
