"""The visitor's token: a signed cookie that keeps their place across refreshes and app servers.

It carries a random visitor id (the member of the Redis queue or admitted set), what the visitor
is for the room (``kind``) and for which session that was found out, so the middleware knows a
staff member or a priority shopper without a database query on every request. Signed with
``SECRET_KEY`` (``django.core.signing``): a forged or altered cookie reads as no cookie at all,
and its owner starts again at the back of the queue.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, replace

from django.conf import settings
from django.core import signing

COOKIE_NAME = "salle_attente"
SALT = "waitingroom.visitor"
# A token is valid this long after it was (re)issued; it is re-issued when older than
# REISSUE_SECONDS, so an active visitor keeps the same id for as long as they come back.
MAX_AGE_SECONDS = 24 * 3600
REISSUE_SECONDS = 3600
# A signed-in visitor's kind (staff, flagged by customer care) is looked up again this often.
RESOLVE_EVERY_SECONDS = 600

NORMAL = ""
STAFF = "s"
FLAGGED = "v"  # flagged by customer care
CODE = "c"  # entered a priority code
PRIORITY_KINDS = frozenset({FLAGGED, CODE})


@dataclass(frozen=True)
class VisitorToken:
    visitor: str
    kind: str = NORMAL
    # Hash of the session cookie the kind was found for ("" without a session).
    session: str = ""
    resolved_at: int = 0
    issued_at: int = 0

    @property
    def is_priority(self) -> bool:
        return self.kind in PRIORITY_KINDS

    @property
    def is_staff(self) -> bool:
        return self.kind == STAFF

    def needs_reissue(self, *, now: int) -> bool:
        return now - self.issued_at > REISSUE_SECONDS

    def issued(self, *, now: int) -> VisitorToken:
        return replace(self, issued_at=now)


def now_seconds() -> int:
    return int(time.time())


def session_fingerprint(session_key: str | None) -> str:
    if not session_key:
        return ""
    return hashlib.sha256(session_key.encode()).hexdigest()[:16]


def token_new() -> VisitorToken:
    return VisitorToken(visitor=secrets.token_urlsafe(16))


def token_dumps(token: VisitorToken) -> str:
    return signing.dumps(
        [token.visitor, token.kind, token.session, token.resolved_at, token.issued_at],
        salt=SALT,
        compress=False,
    )


def token_loads(raw: str | None) -> VisitorToken | None:
    """The token in a cookie, or None if absent, expired, forged or malformed."""
    if not raw:
        return None
    try:
        visitor, kind, session, resolved_at, issued_at = signing.loads(
            raw, salt=SALT, max_age=MAX_AGE_SECONDS
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(visitor, str) or not 16 <= len(visitor) <= 64:
        return None
    return VisitorToken(
        visitor=visitor,
        kind=str(kind),
        session=str(session),
        resolved_at=int(resolved_at),
        issued_at=int(issued_at),
    )


def token_set_cookie(response, token: VisitorToken) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token_dumps(token),
        max_age=MAX_AGE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
