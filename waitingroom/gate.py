"""Who is at the door: the visitor's token, read and brought up to date, and the room's answer.

Shared by the middleware (every request) and the queue page. An anonymous visitor costs no
database query; a signed-in one is looked up (staff? flagged by customer care?) when their
session changes (log in, log out) and then every ``RESOLVE_EVERY_SECONDS`` at most.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings
from django.http import HttpRequest

from waitingroom.admission import Decision, admission_visit
from waitingroom.tokens import (
    CODE,
    COOKIE_NAME,
    FLAGGED,
    NORMAL,
    RESOLVE_EVERY_SECONDS,
    STAFF,
    VisitorToken,
    now_seconds,
    session_fingerprint,
    token_loads,
    token_new,
)

# The current token is kept on the request under this name; the response sets the cookie when
# it changed.
REQUEST_ATTR = "waitingroom_token"
CHANGED_ATTR = "waitingroom_token_changed"
# Set when the client sent no valid token (a newcomer, or a client that keeps no cookie).
NEW_ATTR = "waitingroom_token_new"


def _kind_of_user(request: HttpRequest, *, previous: str) -> str:
    from waitingroom.models import PriorityShopper

    user = request.user
    if not user.is_authenticated:
        return CODE if previous == CODE else NORMAL
    if user.is_staff:
        return STAFF
    if PriorityShopper.objects.active().filter(user_id=user.pk).exists():
        return FLAGGED
    # A priority code entered before signing in still counts.
    return CODE if previous == CODE else NORMAL


def visitor_token(request: HttpRequest) -> VisitorToken:
    """The request's visitor token, created or brought up to date; remembered on the request
    (``token_remember``) so the response can set the cookie when it changed."""
    known = getattr(request, REQUEST_ATTR, None)
    if known is not None:
        return known
    now = now_seconds()
    original = token_loads(request.COOKIES.get(COOKIE_NAME))
    token = original or token_new()
    setattr(request, NEW_ATTR, original is None)
    session = session_fingerprint(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    stale = session and now - token.resolved_at > RESOLVE_EVERY_SECONDS
    if original is None or token.session != session or stale:
        # Without a session cookie, request.user is anonymous without touching the database.
        kind = _kind_of_user(request, previous=token.kind)
        token = replace(token, kind=kind, session=session, resolved_at=now)
    changed = token != original or token.needs_reissue(now=now)
    if changed:
        token = token.issued(now=now)
    token_remember(request, token, changed=changed)
    return token


def token_remember(request: HttpRequest, token: VisitorToken, *, changed: bool = True) -> None:
    setattr(request, REQUEST_ATTR, token)
    setattr(request, CHANGED_ATTR, changed or getattr(request, CHANGED_ATTR, False))


@dataclass(frozen=True)
class GateAnswer:
    token: VisitorToken
    decision: Decision | None  # None: staff, never counted

    @property
    def is_admitted(self) -> bool:
        return self.decision is None or self.decision.is_admitted


def gate_check(request: HttpRequest, *, newcomer_needs_token: bool = False) -> GateAnswer:
    """The room's answer for this request: staff pass, everybody else visits the room.

    ``newcomer_needs_token``: a visitor who sent no token gets a place only once they send it
    back (the middleware: they are redirected to the queue page with it)."""
    token = visitor_token(request)
    if token.kind == STAFF:
        return GateAnswer(token=token, decision=None)
    ticketless = newcomer_needs_token and getattr(request, NEW_ATTR, False)
    return GateAnswer(
        token=token,
        decision=admission_visit(
            visitor=token.visitor, priority=token.is_priority, ticketless=ticketless
        ),
    )
