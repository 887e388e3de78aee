"""The supply horizon: whole weeks (Monday to Sunday), from the current one."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings

from delivery.calendar import local_today
from essentiels.prepared import PreparedQuery


def week_of(day: date) -> date:
    """The Monday of ``day``'s week: how supply rows name a week."""
    return day - timedelta(days=day.weekday())


def supply_weeks(*, now: datetime | None = None, weeks: int | None = None) -> list[date]:
    """Mondays of the ``SUPPLY_FORECAST_WEEKS`` weeks the forecast covers, this week first."""
    count = settings.SUPPLY_FORECAST_WEEKS if weeks is None else weeks
    first = week_of(local_today(now=now))
    return [first + timedelta(weeks=n) for n in range(count)]


def supply_horizon(*, now: datetime | None = None, weeks: int | None = None) -> tuple[date, date]:
    """Delivery dates the forecast counts: from tomorrow to the Sunday of the last week (whole
    weeks, so a week's reservation total is never a partial sum)."""
    mondays = supply_weeks(now=now, weeks=weeks)
    return local_today(now=now) + timedelta(days=1), mondays[-1] + timedelta(days=6)


def _open_weekdays_query():
    from delivery.models import District

    return District.objects.open().filter(weekday__isnull=False).values_list("weekday")


# Read for every basket page the page cache cannot serve: compiled once (essentiels.prepared).
_OPEN_WEEKDAYS = PreparedQuery("supply_open_weekdays", _open_weekdays_query)


def first_orderable_date(*, now: datetime | None = None) -> date:
    """The earliest day a sale made now can still be delivered on: a weekday some open
    district is delivered on (any day when none is set), whose cutoff has not passed. The
    first week a *new* sale can touch is this day's."""
    from django.utils import timezone

    from delivery.calendar import delivery_cutoff

    now = now or timezone.now()
    weekdays = {weekday for (weekday,) in _OPEN_WEEKDAYS.rows()} or set(range(7))
    day = local_today(now=now)
    while day.weekday() not in weekdays or now >= delivery_cutoff(day=day):
        day += timedelta(days=1)
    return day


def first_orderable_week_index(*, weeks: list[date], now: datetime | None = None) -> int:
    """Index in ``weeks`` of the first week a new sale can still be delivered in (``len(weeks)``
    when the whole horizon is already fixed)."""
    first = week_of(first_orderable_date(now=now))
    return next((index for index, week in enumerate(weeks) if week >= first), len(weeks))
