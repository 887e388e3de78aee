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
from django.db.models import Max, Q, Sum
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

    def _failures(self, request: HttpRequest, credentials: dict | None) -> dict:
        """Within the cool-off, in one query: the failures of the (email, address) pair and of
        the address across all emails, and the latest of each."""
        pair = Q(username=login_username(request, credentials))
        return self._address_attempts(request).aggregate(
            pair_n=Sum("failures_since_start", filter=pair, default=0),
            pair_last=Max("attempt_time", filter=pair),
            address_n=Sum("failures_since_start", default=0),
            address_last=Max("attempt_time"),
        )

    def get_failures(self, request, credentials: dict | None = None) -> int:
        limit = get_failure_limit(request, credentials)
        failures = self._failures(request, credentials)
        # axes compares one number with one limit: an address over its own limit counts as
        # having reached the pair's.
        address_locked = failures["address_n"] >= settings.LOGIN_THROTTLE_IP_FAILURE_LIMIT
        return max(failures["pair_n"], limit if address_locked else 0)

    def locked_until(self, request: HttpRequest, credentials: dict | None) -> datetime | None:
        """When a locked client may try again (the latest failure that counts + the cool-off)."""
        limit = get_failure_limit(request, credentials)
        failures = self._failures(request, credentials)
        ends = []
        if failures["pair_n"] >= limit:
            ends.append(failures["pair_last"])
        if failures["address_n"] >= settings.LOGIN_THROTTLE_IP_FAILURE_LIMIT:
            ends.append(failures["address_last"])
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
