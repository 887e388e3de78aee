"""Celery tasks: thin wrappers over payments.services, taking ids, safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task


@shared_task(acks_late=True)
def stripe_event_process_task(*, event_pk: int) -> None:
    # Idempotent: the event row is locked and marked processed; a redelivery finds it done.
    from payments.services.webhooks import stripe_event_process

    stripe_event_process(event_pk=event_pk)


@shared_task(acks_late=True)
def stripe_events_sweep_task() -> int:
    # Idempotent: each event is processed once under its row lock.
    from payments.services.webhooks import stripe_event_process, stripe_events_waiting

    waiting = stripe_events_waiting()
    for event_pk in waiting:
        stripe_event_process(event_pk=event_pk)
    return len(waiting)


@shared_task(acks_late=True)
def payments_reconcile_task(*, minutes: int = 24 * 60) -> dict[str, int]:
    # Idempotent: it only moves pending rows to Stripe's outcome and cancels (with a ledger key)
    # authorisations nobody will capture.
    from django.utils import timezone

    from payments.services.reconcile import payments_reconcile

    report = payments_reconcile(since=timezone.now() - timedelta(minutes=minutes))
    return {
        "seen": report.seen,
        "pending_repaired": len(report.pending_repaired),
        "authorisations_cancelled": len(report.authorisations_cancelled),
        "paid_without_order": len(report.paid_without_order),
    }
