"""The supply horizon: whole weeks (Monday to Sunday), from the current one."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings

from delivery.calendar import local_today


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
