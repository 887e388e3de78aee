"""Liveness of the services a web server needs, for the load balancer's /healthz probe."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from essentiels.celery_app import app as celery_app

PROBE_TIMEOUT_SECONDS = 2


def database_check() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def cache_check() -> None:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.startswith("django_redis."):
        # django-redis is configured to swallow Redis errors (pages degrade, not fail), so
        # cache.get() would say nothing: ask the server itself.
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
        return
    cache.set("healthz", "ok", timeout=5)
    if cache.get("healthz") != "ok":
        raise RuntimeError("cache did not return the value it was given")


def broker_check() -> None:
    # Read from settings on each probe (not the app's cached conf) so overrides are honoured.
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)


CHECKS: dict[str, Callable[[], None]] = {
    "database": database_check,
    "cache": cache_check,
    "broker": broker_check,
}


def services_health() -> dict[str, str]:
    """``{"database": "ok", "cache": "error: …", …}``: each service checked independently."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 — any failure is the answer we report
            results[name] = f"error: {type(exc).__name__}: {exc}"[:300]
        else:
            results[name] = "ok"
    return results
