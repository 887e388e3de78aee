"""Celery tasks: thin wrappers over supply.services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

REFRESH_SCHEDULED_KEY = "supply:forecast-refresh-scheduled"


@shared_task(acks_late=True)
def supply_forecast_refresh_task() -> int:
    # Idempotent: the refresh replaces the snapshot and re-derives reservations and caps from
    # the database; two runs are serialised by an advisory lock.
    from django.core.cache import cache
    from django.db import connection

    from supply.services.forecast import supply_forecast_refresh
    from supply.services.substitutions import substitutions_apply_upcoming
    from supply.services.waitlist import waitlist_notify_reopened

    if connection.vendor != "postgresql":
        # The embedded demo (`make run`, SQLite) has no forecast: its sums are PostgreSQL SQL.
        return 0
    # Cleared first: a change committed while this runs schedules the next refresh.
    cache.delete(REFRESH_SCHEDULED_KEY)
    # Orders placed since a substitution was declared (renewals at the cutoff) get it too.
    substitutions_apply_upcoming()
    rows = supply_forecast_refresh().component_rows
    # Caps were just re-derived: tell who waits for a basket that reopened.
    waitlist_notify_reopened()
    return rows


def supply_forecast_refresh_schedule() -> bool:
    """Enqueue one refresh ``SUPPLY_REFRESH_DEBOUNCE_SECONDS`` from now, unless one is already
    waiting: a burst of changes (an admin save, a checkout) costs one refresh."""
    from django.conf import settings
    from django.core.cache import cache

    delay = settings.SUPPLY_REFRESH_DEBOUNCE_SECONDS
    if not cache.add(REFRESH_SCHEDULED_KEY, 1, timeout=delay + 60):
        return False
    supply_forecast_refresh_task.apply_async(countdown=delay)
    return True
