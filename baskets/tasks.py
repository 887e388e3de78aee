"""Celery tasks: thin wrappers over baskets.services, taking ids, safe to run twice."""

from __future__ import annotations

from datetime import date

from celery import shared_task


def _enqueue_renewal(subscription_id: int, delivery_date: date) -> None:
    subscription_renew_task.delay(
        subscription_id=subscription_id, delivery_date=delivery_date.isoformat()
    )


@shared_task(acks_late=True)
def subscription_renew_task(*, subscription_id: int, delivery_date: str) -> str | None:
    # Idempotent: (subscription, delivery_date) is unique and the charge goes through the
    # payments ledger, so a redelivered or duplicated task creates nothing twice.
    from baskets.services.renewal import renewal_outbox_done, subscription_renew

    day = date.fromisoformat(delivery_date)
    renewal = subscription_renew(subscription_id=subscription_id, delivery_date=day)
    renewal_outbox_done(subscription_id=subscription_id, delivery_date=day, renewal=renewal)
    return renewal.status if renewal is not None else None


@shared_task(acks_late=True)
def renewals_dispatch_task(*, chunk_size: int = 1000) -> int:
    # Idempotent: outbox rows are unique per (subscription, date); a second tick finds none due.
    from baskets.services.renewal import renewals_dispatch

    return renewals_dispatch(enqueue=_enqueue_renewal, chunk_size=chunk_size)


@shared_task(acks_late=True)
def renewals_outbox_sweep_task(*, minutes: int = 15) -> int:
    # Re-enqueues only what is not done; the renewal itself is idempotent.
    from datetime import timedelta

    from baskets.services.renewal import renewals_outbox_sweep

    return renewals_outbox_sweep(enqueue=_enqueue_renewal, older_than=timedelta(minutes=minutes))


@shared_task(acks_late=True)
def subscription_messages_resend_task(*, minutes: int = 5) -> int:
    # Each email is claimed before sending: a duplicate task sends nothing twice.
    from datetime import timedelta

    from baskets.services.notifications import subscription_messages_resend

    return subscription_messages_resend(older_than=timedelta(minutes=minutes))


def _enqueue_retry(renewal_id: int) -> None:
    renewal_retry_task.delay(renewal_id=renewal_id)


@shared_task(acks_late=True)
def renewal_retry_task(*, renewal_id: int) -> str | None:
    # The retry claims the renewal under its row lock (declined → ordered): a duplicate task
    # finds nothing due and does nothing.
    from baskets.services.recovery import renewal_retry

    renewal = renewal_retry(renewal_id=renewal_id)
    return renewal.status if renewal is not None else None


@shared_task(acks_late=True)
def renewals_recover_task() -> dict:
    # Expiring and re-charging are idempotent per renewal; retries are enqueued as tasks.
    from baskets.services.recovery import renewals_recover

    return renewals_recover(enqueue_retry=_enqueue_retry)


@shared_task(acks_late=True)
def variant_change_notices_task(*, variant_id: int) -> int:
    # Idempotent: each email's key names the subscription and the basket state announced, so a
    # redelivered or duplicated task sends nothing twice.
    from baskets.services.basket_changes import variant_change_notices_send

    return variant_change_notices_send(variant_id=variant_id)


@shared_task(acks_late=True)
def variant_change_notices_sweep_task() -> int:
    # Catches changes that sent no signal (queryset updates, bulk compositions) and lost
    # enqueues; each variant's task is idempotent.
    from baskets.services.basket_changes import variant_change_notices_sweep

    return variant_change_notices_sweep(
        enqueue=lambda variant_id: variant_change_notices_task.delay(variant_id=variant_id)
    )
