"""Project-wide housekeeping tasks. Thin: each calls a service."""

from celery import shared_task


@shared_task
def sessions_clear_expired_task() -> int:
    # Idempotent: deleting what has expired twice deletes nothing the second time.
    from essentiels.services import sessions_clear_expired

    return sessions_clear_expired()


@shared_task(acks_late=True)
def password_reset_email_task(*, email: str, language: str) -> int:
    # A redelivered task sends a second link: harmless (each works once, the last one too).
    from essentiels.security.password_reset import password_reset_email_send

    return password_reset_email_send(email=email, language=language)
