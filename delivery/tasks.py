"""Celery tasks: thin wrappers over delivery.services, taking ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def district_reschedule_task(
    *, district_id: int, weekday: int | None = None, capacity: int | None = None
) -> int:
    # Idempotent: the service re-plans on the rows as they are, so a redelivered task moves
    # nothing twice; emails go once per move (DeliveryMove.notified_at).
    from delivery.services.reschedule import delivery_moves_notify, district_reschedule

    moves = district_reschedule(district_id=district_id, weekday=weekday, capacity=capacity)
    delivery_moves_notify()
    return len(moves)


@shared_task(acks_late=True)
def delivery_moves_notify_task() -> int:
    # Sweeps moves whose email did not go out (a worker died between commit and send).
    from delivery.services.reschedule import delivery_moves_notify

    return delivery_moves_notify()
