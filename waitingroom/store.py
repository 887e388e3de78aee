"""The waiting room's Redis: one client per process, key names, and failing open.

Every app server talks to the same Redis, which is what makes the queue one queue. When that
Redis does not answer, the room must degrade (everybody let in, logged), never turn into error
pages: ``redis_call`` returns a fallback instead of raising, and after a failure skips Redis for
a few seconds, so an outage costs each request nothing rather than a timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings

logger = logging.getLogger("waitingroom")

T = TypeVar("T")

PREFIX = "waitingroom"
# A Redis that answers slower than this is treated as down (the request goes on without it).
SOCKET_TIMEOUT_SECONDS = 1.0
# After a failure, Redis is not tried again by this process for this long.
RETRY_AFTER_FAILURE_SECONDS = 5.0


class Keys:
    """Names of the room's Redis keys (one hash tag, so a Redis Cluster keeps them together)."""

    settings = f"{{{PREFIX}}}:settings"
    active = f"{{{PREFIX}}}:active"  # admitted shoppers → last seen (ms)
    queue = f"{{{PREFIX}}}:queue"  # normal lane: visitor → ticket
    priority = f"{{{PREFIX}}}:priority"  # priority lane: visitor → ticket
    seen = f"{{{PREFIX}}}:seen"  # queued visitors → last poll (ms)
    ticket = f"{{{PREFIX}}}:ticket"  # arrival counter (both lanes)
    bucket = f"{{{PREFIX}}}:bucket"  # admission rate: tokens and their time
    admissions = f"{{{PREFIX}}}:admissions"  # visitor → admission time (ms), last 5 minutes
    stats = f"{{{PREFIX}}}:stats"  # running totals
    fullness = f"{PREFIX}:fullness"  # postcode → next delivery dates (JSON)
    fullness_scheduled = f"{PREFIX}:fullness-scheduled"

    @staticmethod
    def code_attempts(visitor: str) -> str:
        return f"{PREFIX}:code-attempts:{visitor}"

    @classmethod
    def room(cls) -> list[str]:
        """The keys of the admission script, in its KEYS order."""
        return [
            cls.settings,
            cls.active,
            cls.queue,
            cls.priority,
            cls.seen,
            cls.ticket,
            cls.bucket,
            cls.admissions,
            cls.stats,
        ]


_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()
_down_until = 0.0


def redis_url() -> str:
    return settings.WAITING_ROOM_REDIS_URL or getattr(settings, "REDIS_URL", "") or ""


def client() -> redis.Redis | None:
    """This process's client for the room's Redis (None when no Redis is configured)."""
    url = redis_url()
    if not url:
        return None
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.setdefault(
                url,
                redis.Redis.from_url(
                    url,
                    socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
                    socket_timeout=SOCKET_TIMEOUT_SECONDS,
                    health_check_interval=30,
                ),
            )
    return found


def redis_call(fn: Callable[[redis.Redis], T], *, fallback: T, what: str) -> T:
    """``fn(client)``, or ``fallback`` when Redis is missing, down or was down a moment ago."""
    global _down_until
    if time.monotonic() < _down_until:
        return fallback
    conn = client()
    if conn is None:
        _down_until = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
        logger.warning("waiting room: no Redis configured, %s skipped (everybody let in)", what)
        return fallback
    try:
        return fn(conn)
    except redis.RedisError as exc:
        _down_until = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
        logger.warning(
            "waiting room: Redis unavailable (%s: %s), %s skipped for %.0f s (everybody let in)",
            type(exc).__name__,
            exc,
            what,
            RETRY_AFTER_FAILURE_SECONDS,
        )
        return fallback


def redis_reset() -> None:
    """Forget clients and any recent failure (tests; settings changed)."""
    global _down_until
    with _lock:
        for conn in _clients.values():
            conn.close()
        _clients.clear()
    _down_until = 0.0
