"""Password reset that tells nobody whether an email has an account — not even by its timing.

Django's (and Oscar's) reset view answers the same page for any email, but it looks the account
up, makes a token, renders and sends the email *inside the request*: a known email answers
measurably later than an unknown one (an SMTP round trip). Here the request only queues the email
address for a worker (``password_reset_email_task``, after commit), the same work whoever asks;
the worker sends Oscar's reset email to the matching active accounts with a usable password, and
to nobody else.
"""

from __future__ import annotations

from django.contrib.auth import forms as auth_forms
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.utils import translation
from oscar.apps.customer.forms import PasswordResetForm as OscarPasswordResetForm


class DeferredPasswordResetForm(auth_forms.PasswordResetForm):
    """The reset form of /password-reset/ (essentiels/urls.py): validates the address, queues it."""

    def save(self, *args, **kwargs) -> None:
        from essentiels.tasks import password_reset_email_task

        email = self.cleaned_data["email"]
        language = translation.get_language()
        transaction.on_commit(
            lambda: password_reset_email_task.delay(email=email, language=language)
        )


def password_reset_email_send(*, email: str, language: str) -> int:
    """Send the reset email (Oscar's, in ``language``) to each active account of ``email`` that
    has a usable password. Returns how many were sent (0 for an unknown email)."""
    form = OscarPasswordResetForm(data={"email": email})
    if not form.is_valid():
        return 0
    sent = 0
    with translation.override(language):
        site = get_current_site(None)
        for user in form.get_users(form.cleaned_data["email"]):
            form.send_password_reset_email(site, user)
            sent += 1
    return sent
