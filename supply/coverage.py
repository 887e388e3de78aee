"""Coverage of one component over consecutive weeks: pure arithmetic, no database.

Stock on hand is in the warehouse now: it serves the first week, and whatever a week does not
use carries to the next. Each week adds what suppliers committed for it. A week is *short* when
its demand exceeds what it has (carry-in + committed); a shortage is not carried (those orders
go short, or get a substitute), so a bad week does not hide a good one after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class WeekCoverage(NamedTuple):
    # A named tuple rather than a frozen dataclass: a basket page builds one per component and
    # week (160 for 40 components), and a tuple is built ten times faster.
    carry_in: int
    committed: int
    demand: int

    @property
    def available(self) -> int:
        return self.carry_in + self.committed

    @property
    def shortfall(self) -> int:
        return max(0, self.demand - self.available)

    @property
    def leftover(self) -> int:
        return max(0, self.available - self.demand)


def coverage_weeks(
    *, stock: int, committed: Sequence[int], demand: Sequence[int]
) -> list[WeekCoverage]:
    """Week by week coverage (``committed`` and ``demand`` are aligned on the same weeks)."""
    carry = max(0, stock)
    weeks = []
    for week_committed, week_demand in zip(committed, demand, strict=True):
        week = WeekCoverage(carry_in=carry, committed=week_committed, demand=week_demand)
        weeks.append(week)
        carry = week.leftover
    return weeks


def room_from(weeks: Sequence[WeekCoverage], index: int) -> int:
    """Units that can still be promised in week ``index`` without making it or any later
    week short: what is left over in every week from it on (taken now, it is missing later)."""
    return min((week.leftover for week in weeks[index:]), default=0)


def adds_shortfall(
    *, stock: int, committed: Sequence[int], demand: Sequence[int], extra: Sequence[int]
) -> int | None:
    """The first week index where adding ``extra`` (per week) creates or deepens a shortfall,
    or None when it all fits: ``coverage_weeks`` without and with ``extra``, week by week in one
    pass (a basket page checks every component of the basket)."""
    carry = carry_with = max(0, stock)
    weeks = zip(committed, demand, extra, strict=True)
    for index, (week_committed, week_demand, week_extra) in enumerate(weeks):
        available = carry + week_committed
        available_with = carry_with + week_committed
        if max(0, week_demand + week_extra - available_with) > max(0, week_demand - available):
            return index
        carry = max(0, available - week_demand)
        carry_with = max(0, available_with - week_demand - week_extra)
    return None
