"""Project-wide housekeeping tasks. Thin: each calls a service."""

from celery import shared_task


@shared_task
def sessions_clear_expired_task() -> int:
    # Idempotent: deleting what has expired twice deletes nothing the second time.
    from essentiels.services import sessions_clear_expired

    return sessions_clear_expired()
