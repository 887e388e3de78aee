"""The priority lane's way in: codes that social services hand out, and customers flagged by
customer care (read by ``waitingroom.gate``)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from waitingroom.models import PriorityCode, PriorityCodeRedemption, PriorityShopper
from waitingroom.store import Keys, redis_call

# No 0/O, 1/I/L: codes are read out over the phone. 12 characters of 31: about 59 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
# Codes a visitor may try per quarter of an hour (a bot trying codes gets nowhere).
MAX_ATTEMPTS = 5
ATTEMPTS_WINDOW_SECONDS = 15 * 60


class PriorityCodeError(Exception):
    """A code that does not open the priority lane; the message is for the shopper."""


def code_normalise(raw: str) -> str:
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def code_hash(code: str) -> str:
    # Codes are random (≈59 bits), so a plain hash does: what leaks from the table is useless.
    return hashlib.sha256(code_normalise(code).encode()).hexdigest()


def code_format(code: str) -> str:
    """ "ABCDEFGHJKMN" → "ABCD-EFGH-JKMN" (easier to read out)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class NewCode:
    code: PriorityCode
    # The code itself, shown to staff once: only its hash is stored.
    plain: str


def priority_code_prepare(code: PriorityCode) -> str:
    """Give an unsaved code a fresh random value (its hash and hint); returns the value, to be
    shown once to the staff member who creates it."""
    plain = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    code.code_hash = code_hash(plain)
    code.hint = plain[-4:]
    return code_format(plain)


def priority_code_create(*, label: str, max_uses: int, expires_at: datetime, by=None) -> NewCode:
    """A new random code for ``max_uses`` visitors until ``expires_at``."""
    code = PriorityCode(label=label, max_uses=max_uses, expires_at=expires_at, created_by=by)
    plain = priority_code_prepare(code)
    code.save()
    return NewCode(code=code, plain=plain)


def _attempt_allowed(visitor: str) -> bool:
    def count(conn) -> int:
        key = Keys.code_attempts(visitor)
        pipe = conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, ATTEMPTS_WINDOW_SECONDS, nx=True)
        return pipe.execute()[0]

    # Redis down: no counting (codes are long enough not to be guessed anyway).
    return redis_call(count, fallback=0, what="code attempts") <= MAX_ATTEMPTS


@transaction.atomic
def priority_code_redeem(*, code: str, visitor: str, now: datetime | None = None) -> PriorityCode:
    """Count ``visitor``'s use of ``code`` (once per visitor). Raises PriorityCodeError.

    The code's row is locked, so racing visitors never take more than ``max_uses``.
    """
    now = now or timezone.now()
    if not _attempt_allowed(visitor):
        raise PriorityCodeError(_("Too many attempts. Please wait a quarter of an hour."))
    normalised = code_normalise(code)
    if len(normalised) != CODE_LENGTH:
        raise PriorityCodeError(_("This code is not valid. Check it and try again."))
    found = PriorityCode.objects.select_for_update().filter(code_hash=code_hash(normalised)).first()
    if found is None or found.revoked_at is not None:
        raise PriorityCodeError(_("This code is not valid. Check it and try again."))
    if PriorityCodeRedemption.objects.filter(code=found, visitor=visitor).exists():
        return found
    if found.expires_at <= now:
        raise PriorityCodeError(_("This code has expired."))
    if found.uses >= found.max_uses:
        raise PriorityCodeError(_("This code has already been used as many times as allowed."))
    try:
        with transaction.atomic():
            PriorityCodeRedemption.objects.create(code=found, visitor=visitor, redeemed_at=now)
    except IntegrityError:  # the same visitor twice at once: counted once
        return found
    PriorityCode.objects.filter(pk=found.pk).update(uses=F("uses") + 1)
    return found


def priority_code_revoke(*, code_id: int) -> None:
    PriorityCode.objects.filter(pk=code_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def priority_shopper_flag(*, user, until=None, note: str = "", by=None) -> PriorityShopper:
    """Put a customer in the priority lane (or update their flag). Takes effect at their next
    sign-in, or within ``RESOLVE_EVERY_SECONDS`` for a signed-in customer."""
    flag, _created = PriorityShopper.objects.update_or_create(
        user=user, defaults={"until": until, "note": note, "created_by": by}
    )
    return flag
