"""« Is my district's next delivery already full? », answered on the queue page with one Redis
read: a summary per postcode, computed by a Celery task from the delivery calendar and the
booked capacity (``delivery.selectors.district_next_delivery``), refreshed every 5 minutes and
shortly after a booking, a release or a calendar change (``waitingroom.receivers``)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

from waitingroom.store import Keys, redis_call

logger = logging.getLogger("waitingroom")

COMPUTED_AT = "_computed_at"
# A burst of bookings costs one refresh, this long after the first of them.
REFRESH_DEBOUNCE_SECONDS = 30


@dataclass(frozen=True)
class DistrictFullness:
    name: str
    is_open: bool
    # The next orderable date by the calendar, and the first one with room (None: all full
    # within the booking horizon). Both None: no delivery date at all (not open yet).
    first_date: date | None
    date_with_room: date | None

    @property
    def first_is_full(self) -> bool:
        return self.first_date is not None and self.date_with_room != self.first_date


@dataclass(frozen=True)
class FullnessAnswer:
    postcode: str
    # None: the summary is not available (not computed yet, Redis down).
    districts: list[DistrictFullness] | None
    computed_at: datetime | None = None

    @property
    def is_known(self) -> bool:
        return self.districts is not None

    @property
    def is_served(self) -> bool:
        return bool(self.districts) and any(d.is_open for d in self.districts)


def delivery_fullness_summary(*, now: datetime | None = None) -> dict[str, list[dict]]:
    """Postcode → its districts with their next delivery date and first date with room."""
    from delivery.models import District
    from delivery.selectors import district_next_delivery

    summary: dict[str, list[dict]] = {}
    districts = District.objects.prefetch_related("postcodes").order_by("name")
    for district in districts:
        entry = {"name": district.short_name, "open": district.is_active, "first": None}
        if district.is_active:
            nxt = district_next_delivery(district=district, now=now)
            if nxt is not None:
                entry["first"] = nxt.first_date.isoformat()
                entry["room"] = nxt.date.isoformat() if nxt.date else None
        for postcode in district.postcodes.all():
            summary.setdefault(postcode.code, []).append(entry)
    return summary


def delivery_fullness_refresh(*, now: datetime | None = None) -> int:
    """Recompute the summary and replace it in Redis at once. Returns the postcodes written."""
    summary = delivery_fullness_summary(now=now)
    mapping = {code: json.dumps(entries) for code, entries in summary.items()}
    mapping[COMPUTED_AT] = (now or timezone.now()).isoformat()

    def write(conn) -> int:
        staging = f"{Keys.fullness}:next"
        pipe = conn.pipeline(transaction=True)
        pipe.delete(staging)
        pipe.hset(staging, mapping=mapping)
        pipe.rename(staging, Keys.fullness)
        pipe.execute()
        return len(summary)

    return redis_call(write, fallback=0, what="delivery fullness refresh")


def delivery_fullness_lookup(*, postcode: str) -> FullnessAnswer:
    """The summary's answer for one (normalised) postcode: one Redis read, no database."""

    def read(conn) -> FullnessAnswer:
        raw_entries, raw_at = conn.hmget(Keys.fullness, [postcode, COMPUTED_AT])
        if raw_at is None:
            return FullnessAnswer(postcode=postcode, districts=None)
        entries = json.loads(raw_entries) if raw_entries else []
        return FullnessAnswer(
            postcode=postcode,
            districts=[
                DistrictFullness(
                    name=entry["name"],
                    is_open=entry["open"],
                    first_date=date.fromisoformat(entry["first"]) if entry.get("first") else None,
                    date_with_room=(
                        date.fromisoformat(entry["room"]) if entry.get("room") else None
                    ),
                )
                for entry in entries
            ],
            computed_at=datetime.fromisoformat(raw_at.decode()),
        )

    return redis_call(
        read, fallback=FullnessAnswer(postcode=postcode, districts=None), what="fullness lookup"
    )


def delivery_fullness_refresh_schedule() -> bool:
    """Enqueue one refresh in REFRESH_DEBOUNCE_SECONDS unless one is already waiting."""
    if not settings.WAITING_ROOM_ENABLED:
        return False
    from waitingroom.tasks import delivery_fullness_refresh_task

    def claim(conn) -> bool:
        return bool(conn.set(Keys.fullness_scheduled, 1, nx=True, ex=REFRESH_DEBOUNCE_SECONDS + 60))

    if not redis_call(claim, fallback=False, what="fullness refresh schedule"):
        return False
    delivery_fullness_refresh_task.apply_async(countdown=REFRESH_DEBOUNCE_SECONDS)
    return True


def delivery_fullness_schedule_clear() -> None:
    redis_call(lambda conn: conn.delete(Keys.fullness_scheduled), fallback=0, what="fullness")
