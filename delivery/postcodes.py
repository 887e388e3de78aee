"""Postcode eligibility: from what a shopper typed to a district, or a clear reason why not."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

from delivery.models import District

_SPACES = re.compile(r"\s+")
_POSTCODE = re.compile(r"^\d{5}$")


class Eligibility(models.TextChoices):
    MALFORMED = "malformed", _("Malformed postcode")
    UNKNOWN = "unknown", _("Postcode outside our area")
    NOT_SERVED = "not_served", _("Not delivered yet")
    AMBIGUOUS = "ambiguous", _("Several communes share this postcode")
    SERVED = "served", _("Delivered")


@dataclass(frozen=True)
class PostcodeLookup:
    postcode: str
    status: Eligibility
    district: District | None = None
    # Every district (commune) behind the postcode: the choice offered when it is ambiguous.
    candidates: list[District] = field(default_factory=list)

    @property
    def is_served(self) -> bool:
        return self.status == Eligibility.SERVED


def postcode_normalise(raw: str | None) -> str | None:
    """ "  75 013 " → "75013"; anything that is not five digits once spaces are gone → None."""
    if raw is None:
        return None
    code = _SPACES.sub("", str(raw))
    return code if _POSTCODE.match(code) else None


def commune_key(name: str | None) -> str:
    """A comparable form of a commune name: no accents, case, punctuation or "St"/"Ste"."""
    if not name:
        return ""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_name.lower()).split()
    expand = {"st": "saint", "ste": "sainte"}
    return " ".join(expand.get(word, word) for word in words)


def _matches(district: District, commune: str) -> bool:
    key = commune_key(commune)
    return bool(key) and key in {commune_key(district.name), commune_key(district.short_name)}


def postcode_lookup(*, postcode: str | None, commune: str | None = None) -> PostcodeLookup:
    """Which district delivers this postcode (and commune, when several share the postcode)."""
    code = postcode_normalise(postcode)
    if code is None:
        return PostcodeLookup(postcode=(postcode or "").strip(), status=Eligibility.MALFORMED)
    candidates = list(District.objects.for_postcode(code).order_by("name"))
    if not candidates:
        return PostcodeLookup(postcode=code, status=Eligibility.UNKNOWN)
    if len(candidates) > 1:
        if not any(d.is_active for d in candidates):
            return PostcodeLookup(
                postcode=code, status=Eligibility.NOT_SERVED, candidates=candidates
            )
        chosen = next((d for d in candidates if _matches(d, commune or "")), None)
        if chosen is None:
            return PostcodeLookup(
                postcode=code, status=Eligibility.AMBIGUOUS, candidates=candidates
            )
    else:
        chosen = candidates[0]
    status = Eligibility.SERVED if chosen.is_active else Eligibility.NOT_SERVED
    return PostcodeLookup(postcode=code, status=status, district=chosen, candidates=candidates)
