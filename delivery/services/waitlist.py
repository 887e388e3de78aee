"""Shoppers outside the open districts leave their email to hear when we open there."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone, translation

from delivery.models import WaitlistEntry
from delivery.postcodes import postcode_lookup, postcode_normalise


class WaitlistError(ValueError):
    pass


@transaction.atomic
def waitlist_join(
    *, email: str, postcode: str, consent_text: str, commune: str | None = None
) -> WaitlistEntry:
    """Record (or renew) a waitlist sign-up with the consent wording the shopper accepted.

    Signing up twice for one postcode updates the entry (new consent timestamp and wording)
    rather than creating a duplicate.
    """
    code = postcode_normalise(postcode)
    if code is None:
        raise WaitlistError("malformed postcode")
    if not consent_text.strip():
        raise WaitlistError("no consent")
    lookup = postcode_lookup(postcode=code, commune=commune)
    district = lookup.district or (lookup.candidates[0] if len(lookup.candidates) == 1 else None)
    entry, _created = WaitlistEntry.objects.update_or_create(
        email=email.strip().lower(),
        postcode=code,
        defaults={
            "district": district,
            "consent_text": consent_text.strip(),
            "consented_at": timezone.now(),
            "language": translation.get_language() or "fr",
        },
    )
    return entry
