"""``csrf_token(request)``: Django's ``get_token`` — the same token, cookie and side effects —
drawing its random characters from one ``os.urandom`` call instead of one per character (Django
draws each of them with ``secrets.choice``). Pages served from the cache give every visitor
without a CSRF cookie a new secret and a masked token: 64 draws, which were 15 % of such a
request's time (bench/bench_pages.py).
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils.functional import SimpleLazyObject

_CHARS = CSRF_ALLOWED_CHARS
_INDEX = {char: index for index, char in enumerate(_CHARS)}
# Bytes below 248 (4 × 62) map evenly onto the 62 characters; the others are drawn again.
_LIMIT = 256 - 256 % len(_CHARS)


def _random_indices(count: int) -> list[int]:
    """``count`` uniformly random indices into ``CSRF_ALLOWED_CHARS``."""
    indices: list[int] = []
    while len(indices) < count:
        for byte in secrets.token_bytes(count + 8):
            if byte < _LIMIT:
                indices.append(byte % len(_CHARS))
                if len(indices) == count:
                    break
    return indices


def csrf_token(request: HttpRequest) -> str:
    """As ``django.middleware.csrf.get_token``: the visitor's secret (a new one, and so a new
    cookie, when they have none) masked with a new random mask; the CSRF middleware then sets or
    renews the cookie on the response."""
    meta = request.META
    if "CSRF_COOKIE" in meta:
        secret = meta["CSRF_COOKIE"]
        mask = _random_indices(CSRF_SECRET_LENGTH)
    else:
        drawn = _random_indices(2 * CSRF_SECRET_LENGTH)
        secret = "".join(_CHARS[index] for index in drawn[CSRF_SECRET_LENGTH:])
        mask = drawn[:CSRF_SECRET_LENGTH]
        meta["CSRF_COOKIE"] = secret
    meta["CSRF_COOKIE_NEEDS_UPDATE"] = True
    cipher = "".join(
        _CHARS[(_INDEX[char] + shift) % len(_CHARS)]
        for char, shift in zip(secret, mask, strict=True)
    )
    return "".join(_CHARS[index] for index in mask) + cipher


def csrf(request: HttpRequest) -> dict:
    """A context processor in place of Django's own (``django.template.context_processors.csrf``,
    which every ``RequestContext`` runs first): the same lazy ``csrf_token``, from
    ``csrf_token`` above, for every ``{% csrf_token %}`` of every page rendered."""
    return {"csrf_token": SimpleLazyObject(lambda: csrf_token(request))}
