"""Bookings, releases and calendar changes schedule a (debounced) refresh of the delivery
fullness summary once their transaction commits. Nothing happens with the room disabled."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from delivery.models import ClosedDate, DeliveryDate, District, OrderDelivery, Postcode

logger = logging.getLogger("waitingroom")


def _schedule() -> None:
    from waitingroom.fullness import delivery_fullness_refresh_schedule

    try:
        delivery_fullness_refresh_schedule()
    except Exception:  # noqa: BLE001 — the 5-minute beat catches up; a booking must not fail
        logger.exception("waiting room: could not schedule the delivery fullness refresh")


def _changed(sender, raw=False, **kwargs) -> None:
    if raw or not settings.WAITING_ROOM_ENABLED:
        return
    transaction.on_commit(_schedule)


# Bookings go through conditional UPDATEs (no signal), but each one creates or releases an
# OrderDelivery, which is saved.
for _model in (OrderDelivery, DeliveryDate, District, ClosedDate, Postcode):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"waitingroom.{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"waitingroom.del.{_model.__name__}")
