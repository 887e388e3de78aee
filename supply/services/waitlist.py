from __future__ import annotations

from supply.models import SupplyWaitlistEntry


def waitlist_join(
    *, variant_id: int, email: str, user_id: int | None = None
) -> SupplyWaitlistEntry:
    """Put an email on a basket's waiting list, once (joining twice keeps the first entry)."""
    entry, _created = SupplyWaitlistEntry.objects.get_or_create(
        variant_id=variant_id, email=email.strip().lower(), defaults={"user_id": user_id}
    )
    return entry
