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


# --- Routes -----------------------------------------------------------------------------------
@shared_task(acks_late=True)
def route_plan_task(
    *,
    delivery_date: str,
    trigger: str = "beat",
    run_id: int | None = None,
    requested_by_id: int | None = None,
    only_if_changed: bool = False,
) -> int | None:
    # Idempotent: one run per date at a time (advisory lock); a redelivered task whose run ended
    # is a no-op, and one killed mid-run left the previous plan intact, so it simply re-plans.
    from datetime import date

    from delivery.routing.services.planning import route_plan

    run = route_plan(
        delivery_date=date.fromisoformat(delivery_date),
        trigger=trigger,
        run_id=run_id,
        requested_by_id=requested_by_id,
        only_if_changed=only_if_changed,
    )
    return run.plan_id if run is not None else None


@shared_task(acks_late=True)
def route_plans_dispatch_task() -> list[str]:
    # Beat: dates whose cutoff passed and that have no plan yet (or whose orders or fleet changed)
    # get a planning task; the task re-checks, so an extra tick plans nothing twice.
    from delivery.routing.services.planning import route_plans_due

    days = [day.isoformat() for day in route_plans_due()]
    for day in days:
        route_plan_task.delay(delivery_date=day, trigger="beat", only_if_changed=True)
    return days
