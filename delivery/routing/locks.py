"""One planning (or manual edit) per delivery date at a time.

A PostgreSQL *session* advisory lock keyed by the date, taken with ``pg_try_advisory_lock`` (no
waiting: a second worker or a second click is told at once that a run is in progress). Session
level, not transaction level, because a run commits its progress many times while it holds the
lock. PostgreSQL releases it when the holder's connection ends, so a worker killed mid-run
(SIGKILL, OOM) leaves no lock behind: the next run takes it and starts over.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.db import connection

# First key of the two-int advisory lock space: "routes" (any constant unused elsewhere).
LOCK_CLASS = 0x5254
# SQLite (the one-command demo) has no advisory locks: a process-local lock stands in.
_local_locks: dict[date, threading.Lock] = {}
_local_guard = threading.Lock()


@contextmanager
def planning_lock(*, delivery_date: date) -> Iterator[bool]:
    """Yield True holding the date's lock, or False at once when someone else holds it."""
    if connection.vendor == "postgresql":
        key = delivery_date.toordinal()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, key])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, key])
        return
    with _local_guard:
        lock = _local_locks.setdefault(delivery_date, threading.Lock())
    acquired = lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
