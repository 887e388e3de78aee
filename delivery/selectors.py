"""Non-trivial reads: a district's next delivery with room, the booking chart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Sum

from delivery.calendar import delivery_dates_upcoming, local_today
from delivery.models import DeliveryDate, District, WaitlistEntry


@dataclass(frozen=True)
class NextDelivery:
    district: District
    # The next orderable delivery date by the calendar, full or not.
    first_date: date
    # The first one with room for the baskets asked; None when all are full within the horizon.
    date: date | None
    # A date with room skipped because a component of the baskets could not be supplied for
    # it (the first such date and component), else None and "".
    supply_short_date: date | None = None
    supply_short_component: str = ""

    @property
    def is_postponed(self) -> bool:
        return self.date is not None and self.date != self.first_date

    @property
    def is_full(self) -> bool:
        return self.date is None


def district_next_delivery(
    *,
    district: District,
    now: datetime | None = None,
    quantity: int = 1,
    supply_check: Callable[[date], str] | None = None,
) -> NextDelivery | None:
    """The next delivery date with room for ``quantity`` baskets; None if no date at all.

    ``supply_check`` (the supply app's, for a cart) names the component that cannot be supplied
    on a date, or ""; such dates are skipped too."""
    days = delivery_dates_upcoming(district=district, now=now)
    if not days:
        return None
    rows = {
        row.date: row
        for row in DeliveryDate.objects.filter(district=district, date__in=days).only(
            "date", "capacity", "booked"
        )
    }
    short_date, short_component = None, ""
    for day in days:
        row = rows.get(day)
        remaining = row.remaining if row is not None else district.capacity
        if remaining < quantity:
            continue
        component = supply_check(day) if supply_check is not None else ""
        if component:
            if short_date is None:
                short_date, short_component = day, component
            continue
        return NextDelivery(
            district=district,
            first_date=days[0],
            date=day,
            supply_short_date=short_date,
            supply_short_component=short_component,
        )
    return NextDelivery(
        district=district,
        first_date=days[0],
        date=None,
        supply_short_date=short_date,
        supply_short_component=short_component,
    )


@dataclass(frozen=True)
class ChartBar:
    date: date
    label: str
    capacity: int
    booked: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.booked / self.capacity)) if self.capacity else 0

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked


def delivery_chart(
    *, district_id: int | None = None, now: datetime | None = None, weeks: int = 8
) -> list[ChartBar]:
    """Booked vs capacity per upcoming delivery date (one district, or all summed per date).

    Dates of open districts that nobody booked yet count with the district's capacity.
    """
    today = local_today(now=now)
    rows = DeliveryDate.objects.filter(date__gte=today)
    districts = District.objects.open()
    if district_id is not None:
        rows = rows.filter(district_id=district_id)
        districts = District.objects.filter(pk=district_id)
    totals: dict[date, list[int]] = {}
    for row in rows.values("date").annotate(capacity=Sum("capacity"), booked=Sum("booked")):
        totals[row["date"]] = [row["capacity"], row["booked"]]
    created = set(rows.values_list("district_id", "date"))
    for district in districts:
        for day in delivery_dates_upcoming(district=district, now=now):
            if (district.pk, day) not in created:
                cell = totals.setdefault(day, [0, 0])
                cell[0] += district.capacity
    end = today + timedelta(weeks=weeks)
    horizon = sorted(day for day in totals if day <= end)
    return [
        ChartBar(date=day, label=f"{day:%d/%m}", capacity=totals[day][0], booked=totals[day][1])
        for day in horizon
    ]


def waitlist_by_postcode() -> list[dict]:
    """Sign-ups per postcode (with the district when known), most wanted first."""
    return list(
        WaitlistEntry.objects.values("postcode", "district__name")
        .annotate(entries=Count("pk"))
        .order_by("-entries", "postcode")
    )
