"""Celery tasks: thin wrappers, safe to run twice (they recompute and overwrite)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def waiting_room_settings_mirror_task() -> bool:
    # Beat, every minute: a restarted Redis or a save made while Redis was down gets the
    # settings back (the middleware also reloads them itself when they are missing).
    if not settings.WAITING_ROOM_ENABLED:
        return False
    from waitingroom.admission import settings_mirror

    return settings_mirror()


@shared_task(acks_late=True)
def delivery_fullness_refresh_task() -> int:
    # Beat (every 5 minutes) and after bookings or calendar changes (debounced).
    if not settings.WAITING_ROOM_ENABLED:
        return 0
    from waitingroom.fullness import delivery_fullness_refresh, delivery_fullness_schedule_clear

    # Cleared first: a change committed while this runs schedules the next refresh.
    delivery_fullness_schedule_clear()
    return delivery_fullness_refresh()
