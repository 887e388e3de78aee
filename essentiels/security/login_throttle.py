"""Login throttling for every password form: the shop's (/accounts/login/, the checkout's "I have
an account"), the admin's (/admin/login/), with django-axes.

**What is locked.** Two layers, counted over failures without a pause of ``AXES_COOLOFF_TIME``:

* an (email, client address) pair after ``AXES_FAILURE_LIMIT`` failures: someone guessing one
  shopper's password from one place is stopped, while the shopper, from their own address, still
  signs in — an attacker cannot lock a victim out, and never for longer than the cool-off;
* a client address on its own after ``LOGIN_THROTTLE_IP_FAILURE_LIMIT`` failures across all
  emails: one machine trying a common password on many accounts is stopped too. The limit is
  high because an office or a mobile carrier puts many honest shoppers behind one address.

A lock ends by itself after the cool-off (counted from the last failure; tries made while locked
are refused without being counted, so the time shown to the shopper holds), or at once when staff
delete the attempt in the admin (essentiels/admin.py adds an "Unlock" action). A successful login
clears that pair's failures.

**Storage.** Failures are rows in PostgreSQL (axes' database handler), not in the cache, so a
Redis outage neither breaks logins nor lifts locks.

Emails are compared lower-cased and trimmed, as Oscar's email backend matches them, so
``Lea@…`` and ``lea@…`` share one counter.
"""

from __future__ import annotations

from datetime import datetime

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

# The POST fields holding the email or username: Oscar's login form is prefixed "login".
_USERNAME_FIELDS = ("login-username", "username")


def login_username(request: HttpRequest | None, credentials: dict | None) -> str:
    """The login name axes counts failures under (``AXES_USERNAME_CALLABLE``)."""
    value = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "POST", {})
        value = next((data.get(field) for field in _USERNAME_FIELDS if data.get(field)), None)
    return (value or "").strip().lower()[:255]


def _recent(request: HttpRequest) -> datetime:
    cool_off = get_cool_off(request)
    return (getattr(request, "axes_attempt_time", None) or timezone.now()) - cool_off


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler with the address-wide layer and the unlock on success."""

    def _address_attempts(self, request: HttpRequest):
        return AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=_recent(request)
        )

    def _pair_attempts(self, request: HttpRequest, credentials: dict | None):
        return self._address_attempts(request).filter(username=login_username(request, credentials))

    def get_failures(self, request, credentials: dict | None = None) -> int:
        limit = get_failure_limit(request, credentials)
        pair = self._pair_attempts(request, credentials).aggregate(n=Sum("failures_since_start"))
        address = self._address_attempts(request).aggregate(n=Sum("failures_since_start"))
        pair_failures = pair["n"] or 0
        # axes compares one number with one limit: an address over its own limit counts as
        # having reached the pair's.
        address_failures = (
            limit if (address["n"] or 0) >= settings.LOGIN_THROTTLE_IP_FAILURE_LIMIT else 0
        )
        return max(pair_failures, address_failures)

    def locked_until(self, request: HttpRequest, credentials: dict | None) -> datetime | None:
        """When a locked client may try again (the latest failure that counts + the cool-off)."""
        limit = get_failure_limit(request, credentials)
        pair = self._pair_attempts(request, credentials).aggregate(
            n=Sum("failures_since_start"), last=Max("attempt_time")
        )
        address = self._address_attempts(request).aggregate(
            n=Sum("failures_since_start"), last=Max("attempt_time")
        )
        ends = []
        if (pair["n"] or 0) >= limit:
            ends.append(pair["last"])
        if (address["n"] or 0) >= settings.LOGIN_THROTTLE_IP_FAILURE_LIMIT:
            ends.append(address["last"])
        return max(ends) + get_cool_off(request) if ends else None

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        names = {name.strip().lower() for name in (user.get_username(), user.email) if name}
        AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, username__in=names
        ).delete()


class LoginThrottleBackend(AxesStandaloneBackend):
    """axes' backend, first in ``AUTHENTICATION_BACKENDS``: refuses a locked client before any
    password is checked.

    A call without a request is code checking a password it was just given (Oscar signs a new
    registrant in with ``authenticate(username=…, password=…)``), not a login form: there is no
    client to throttle, and axes would raise. Every login form passes its request (the checkout's
    gateway form gets it from essentiels/oscar_forks/checkout/views.py).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """The page a locked client gets (``AXES_LOCKOUT_CALLABLE``): 429, saying until when."""
    until = LoginThrottleHandler().locked_until(request, credentials)
    if until is None:  # unlocked meanwhile (staff, or the cool-off just ended)
        until = timezone.now()
    minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
    response = render(
        request,
        "security/locked_out.html",
        {"retry_at": timezone.localtime(until), "retry_minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
