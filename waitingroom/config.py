"""Ops' live settings: saved in the database (with who changed what), then copied into Redis."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from waitingroom.admission import settings_mirror
from waitingroom.models import SETTINGS_PK, WaitingRoomSettings, WaitingRoomSettingsChange

logger = logging.getLogger("waitingroom")


@transaction.atomic
def waiting_room_settings_update(
    *,
    by,
    enabled: bool,
    admit_per_minute: int,
    max_active: int,
    idle_minutes: int,
) -> WaitingRoomSettings:
    """Save the live settings, record the change, and copy them into Redis once committed (the
    every-minute mirror task retries if Redis is down then)."""
    row = WaitingRoomSettings.objects.select_for_update().filter(pk=SETTINGS_PK).first()
    before = row.values() if row is not None else WaitingRoomSettings.defaults()
    if row is None:
        row = WaitingRoomSettings(pk=SETTINGS_PK)
    row.enabled = enabled
    row.admit_per_minute = admit_per_minute
    row.max_active = max_active
    row.idle_minutes = idle_minutes
    row.updated_by = by
    row.full_clean()
    row.save()
    after = row.values()
    if after != before:
        WaitingRoomSettingsChange.objects.create(
            changed_at=timezone.now(), changed_by=by, before=before, after=after
        )
    transaction.on_commit(lambda: _mirror(after))
    return row


def _mirror(values: dict) -> None:
    if not settings_mirror(values=values):
        logger.warning("waiting room: settings saved but not copied to Redis yet (retried)")
