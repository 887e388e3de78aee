"""The waiting room's own cost: what an admitted shopper's request pays, what a queued one does.

Run: `.venv/bin/python bench/bench_waitingroom.py` (part of `make bench`). Needs Redis only (no
database query is made): the room's keys in ``REDIS_URL``'s database are wiped first and after.
Prints, from one process:
- admission script calls per second and their p50/p99 for an admitted shopper (the fast path)
  and for a queued visitor polling behind QUEUED others;
- the whole door for an admitted shopper as the middleware runs it (signed cookie read, one
  Redis round trip) and the queue page rendered for a queued visitor (no database).
"""

from __future__ import annotations

import os
import statistics
import time

from _setup import machine

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essentiels.settings.test")

CALLS = int(os.environ.get("BENCH_CALLS", "5000"))
QUEUED = int(os.environ.get("BENCH_QUEUED", "10000"))


def timed(fn, n: int) -> tuple[float, float, float]:
    """(calls per second, p50 µs, p99 µs)."""
    samples = []
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - start
    samples.sort()
    return n / elapsed, statistics.median(samples) * 1e6, samples[int(n * 0.99)] * 1e6


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.test import RequestFactory, override_settings

    from waitingroom.admission import admission_visit, settings_mirror
    from waitingroom.gate import gate_check
    from waitingroom.store import client
    from waitingroom.tokens import COOKIE_NAME, token_dumps, token_new
    from waitingroom.views import queue_page

    conn = client()

    def wipe() -> None:
        keys = list(conn.scan_iter(match="{waitingroom}*", count=1000))
        if keys:
            conn.delete(*keys)

    wipe()
    try:
        with override_settings(WAITING_ROOM_ENABLED=True):
            settings_mirror(
                values={
                    "enabled": True,
                    "admit_per_minute": 1_000_000,
                    "max_active": 1,
                    "idle_minutes": 60,
                }
            )
            assert admission_visit(visitor="bench-admitted-shopper").state == "admitted"
            fast = timed(lambda: admission_visit(visitor="bench-admitted-shopper"), CALLS)
            for i in range(QUEUED):
                admission_visit(visitor=f"bench-queued-{i:08d}")
            last = f"bench-queued-{QUEUED - 1:08d}"
            polled = timed(lambda: admission_visit(visitor=last), CALLS)

            factory = RequestFactory()
            token = token_new()
            cookie = token_dumps(token)
            wipe()
            settings_mirror(
                values={
                    "enabled": True,
                    "admit_per_minute": 10**6,
                    "max_active": 10,
                    "idle_minutes": 60,
                }
            )
            assert admission_visit(visitor=token.visitor).state == "admitted"

            def door():
                request = factory.get("/paniers/", HTTP_COOKIE=f"{COOKIE_NAME}={cookie}")
                assert gate_check(request).is_admitted

            door_figures = timed(door, CALLS)
            settings_mirror(
                values={"enabled": True, "admit_per_minute": 0, "max_active": 0, "idle_minutes": 60}
            )

            waiting = token_dumps(token_new())

            def page():
                request = factory.get("/salle-attente/?suite=/paniers/")
                request.COOKIES[COOKIE_NAME] = waiting
                request.META["CSRF_COOKIE"] = "x" * 32
                from django.utils import translation

                with translation.override("fr"):
                    assert queue_page(request).status_code == 200

            page_figures = timed(page, min(CALLS, 2000))
    finally:
        wipe()

    print(f"bench_waitingroom — {machine()}, Redis {settings.REDIS_URL}")
    print(
        f"admission, admitted shopper: {fast[0]:,.0f}/s, p50 {fast[1]:.0f} µs, p99 {fast[2]:.0f} µs"
    )
    print(
        f"admission, queued visitor polling behind {QUEUED:,}: {polled[0]:,.0f}/s, "
        f"p50 {polled[1]:.0f} µs, p99 {polled[2]:.0f} µs"
    )
    print(
        f"door for an admitted shopper (cookie + admission): {door_figures[0]:,.0f}/s, "
        f"p50 {door_figures[1]:.0f} µs, p99 {door_figures[2]:.0f} µs"
    )
    print(
        f"queue page (position, token, no database): {page_figures[0]:,.0f}/s, "
        f"p50 {page_figures[1]:.0f} µs, p99 {page_figures[2]:.0f} µs"
    )


if __name__ == "__main__":
    main()
