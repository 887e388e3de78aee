"""The delivery calendar: which dates a district is delivered on, and until when one can order.

Selectors only (reads). The rules, in the order they apply to a candidate date D:
- D falls on the district's weekday, on or after its opening date;
- D is not a French public holiday (``holidays.France``): that week's delivery is skipped;
- D is not closed by ops (a ``ClosedDate`` for this district or for every district);
- it is still before D's cutoff (see ``delivery_cutoff``).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from delivery.models import ClosedDate, District

PARIS = ZoneInfo("Europe/Paris")


def local_today(*, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(PARIS).date()


def delivery_cutoff(*, day: date) -> datetime:
    """The last moment (exclusive) an order can still be delivered on ``day``.

    ``DELIVERY_CUTOFF_TIME`` on the delivery day, minus ``DELIVERY_CUTOFF_HOURS_BEFORE`` hours of
    wall-clock time in Paris: with 12:00 and 48, a Tuesday delivery closes on Sunday at 12:00
    Paris time, in summer and in winter alike (a DST change in between moves no cutoff).
    """
    hour, minute = (int(part) for part in settings.DELIVERY_CUTOFF_TIME.split(":"))
    wall_clock = datetime.combine(day, time(hour, minute)) - timedelta(  # noqa: DTZ001
        hours=settings.DELIVERY_CUTOFF_HOURS_BEFORE
    )
    return wall_clock.replace(tzinfo=PARIS)


@functools.lru_cache(maxsize=16)
def _french_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.France(years=year))


def is_public_holiday(day: date) -> bool:
    return settings.DELIVERY_SKIP_PUBLIC_HOLIDAYS and day in _french_holidays(day.year)


def closed_dates(*, district_id: int | None, start: date, end: date) -> set[date]:
    """Dates in [start, end] closed by ops for this district or for every district."""
    where = Q(district__isnull=True)
    if district_id is not None:
        where |= Q(district_id=district_id)
    return set(
        ClosedDate.objects.filter(where, date__gte=start, date__lte=end).values_list(
            "date", flat=True
        )
    )


def horizon_end(*, today: date) -> date:
    return today + timedelta(weeks=settings.DELIVERY_HORIZON_WEEKS)


def is_delivery_day(
    *, district: District, day: date, closed: set[date], weekday: int | None = None
) -> bool:
    """Whether ``day`` is one of the district's delivery days (cutoff aside)."""
    weekday = district.weekday if weekday is None else weekday
    return (
        weekday is not None
        and day.weekday() == weekday
        and (district.opens_on is None or day >= district.opens_on)
        and not is_public_holiday(day)
        and day not in closed
    )


def delivery_dates_upcoming(
    *,
    district: District,
    now: datetime | None = None,
    count: int | None = None,
    not_before: date | None = None,
    weekday: int | None = None,
) -> list[date]:
    """The district's next orderable delivery dates, soonest first, within the horizon.

    ``weekday`` overrides the district's own (to preview a weekday change); ``not_before`` skips
    earlier dates; ``count`` stops early. Open or not, the district's calendar is the same:
    callers check ``is_active`` where it matters.
    """
    now = now or timezone.now()
    weekday = district.weekday if weekday is None else weekday
    if weekday is None:
        return []
    today = local_today(now=now)
    start = max(d for d in (today, district.opens_on, not_before) if d is not None)
    end = horizon_end(today=today)
    closed = closed_dates(district_id=district.pk, start=start, end=end)
    day = start + timedelta(days=(weekday - start.weekday()) % 7)
    found: list[date] = []
    while day <= end and (count is None or len(found) < count):
        if is_delivery_day(
            district=district, day=day, closed=closed, weekday=weekday
        ) and now < delivery_cutoff(day=day):
            found.append(day)
        day += timedelta(days=7)
    return found
