"""Per (component, week) reservations: what is promised, checked against what is available.

A sale (a one-off order, or a new subscription with its coming deliveries) reserves every unit
its baskets need, per component and week, in the order's own transaction — or nothing at all:

1. the rows it needs are created if missing (``INSERT … ON CONFLICT DO NOTHING``, in
   (component, week) order, so two first sales racing create each once);
2. they are locked with ``SELECT … FOR UPDATE`` in primary-key order (two sales never wait on
   each other in opposite orders: no deadlock);
3. under the locks the coverage is simulated (stock on hand carried week to week, plus each
   week's committed supply, see ``supply.coverage``): if the sale would make any week short, or
   shorter, it is refused with ``SupplyShortError`` and nothing is written;
4. otherwise each row is incremented.

Why locks and not one conditional ``UPDATE … WHERE reserved + n <= supply`` as for delivery
places: stock on hand carries from week to week, so a unit taken in week 1 is missing in week 3;
the condition spans several rows, which one conditional UPDATE cannot see consistently. The
refresh (``reservations_lock`` then ``reservations_set_from_demand``) takes the same row locks.

Renewals of existing subscribers reserve nothing here: the forecast counts them first (their
demand is the reservation's starting point), so they keep priority and are never refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from oscar.apps.catalogue.models import Product

from baskets.models import BasketComponent
from essentiels.oscar_forks.partner.models import StockRecord
from supply.coverage import adds_shortfall, coverage_weeks, room_from
from supply.models import SupplyCommitment, SupplyReservation
from supply.services.weeks import supply_weeks, week_of

Needs = Mapping[tuple[int, date], int]


class SupplyShortError(Exception):
    """A sale would take units that the weeks ahead cannot supply; ``message`` is translated."""

    def __init__(self, *, product_id: int, week: date, message: str = ""):
        self.product_id = product_id
        self.week = week
        title = Product.objects.filter(pk=product_id).values_list("title", flat=True).first()
        self.message = message or _(
            "We cannot secure enough “%(component)s” for the week of %(week)s: this basket "
            "cannot be sold for that delivery."
        ) % {"component": title or product_id, "week": formats.date_format(week, "j F Y")}
        super().__init__(self.message)


def stock_on_hand(*, product_ids: Iterable[int]) -> dict[int, int]:
    """Units in the warehouse now (Oscar's ``num_in_stock``, all stock records of a product)."""
    rows = (
        StockRecord.objects.filter(product_id__in=list(product_ids))
        .values("product_id")
        .annotate(total=Sum("num_in_stock"))
    )
    return {row["product_id"]: max(0, row["total"] or 0) for row in rows}


def committed_supply(
    *, product_ids: Iterable[int], weeks: list[date]
) -> dict[tuple[int, date], int]:
    return {
        (product_id, week): quantity
        for product_id, week, quantity in SupplyCommitment.objects.filter(
            product_id__in=list(product_ids), week__in=weeks
        ).values_list("product_id", "week", "quantity")
    }


def _ensure_rows(*, product_ids: list[int], weeks: list[date]) -> None:
    SupplyReservation.objects.bulk_create(
        [
            SupplyReservation(product_id=product_id, week=week)
            for product_id in sorted(product_ids)
            for week in sorted(weeks)
        ],
        ignore_conflicts=True,
    )


def _weeks_through(*, last: date, now: datetime | None) -> list[date]:
    weeks = supply_weeks(now=now)
    while weeks[-1] < last:
        weeks.append(weeks[-1] + timedelta(weeks=1))
    return weeks


@transaction.atomic
def supply_reserve(*, needs: Needs, now: datetime | None = None) -> None:
    """Reserve ``needs`` ({(component id, week Monday): units}) or raise SupplyShortError and
    reserve nothing. Call inside the transaction that records the sale."""
    needs = {key: units for key, units in needs.items() if units > 0}
    if not needs:
        return
    product_ids = sorted({product_id for product_id, _week in needs})
    weeks = _weeks_through(last=max(week for _product, week in needs), now=now)
    _ensure_rows(product_ids=product_ids, weeks=weeks)
    locked = list(
        SupplyReservation.objects.select_for_update()
        .filter(product_id__in=product_ids, week__in=weeks)
        .order_by("pk")
        .values_list("product_id", "week", "reserved")
    )
    reserved = {(product_id, week): units for product_id, week, units in locked}
    stock = stock_on_hand(product_ids=product_ids)
    committed = committed_supply(product_ids=product_ids, weeks=weeks)
    for product_id in product_ids:
        short = adds_shortfall(
            stock=stock.get(product_id, 0),
            committed=[committed.get((product_id, week), 0) for week in weeks],
            demand=[reserved.get((product_id, week), 0) for week in weeks],
            extra=[needs.get((product_id, week), 0) for week in weeks],
        )
        if short is not None:
            raise SupplyShortError(product_id=product_id, week=weeks[short])
    for (product_id, week), units in sorted(needs.items()):
        SupplyReservation.objects.filter(product_id=product_id, week=week).update(
            reserved=F("reserved") + units, updated_at=timezone.now()
        )


def basket_needs(
    *, variant_quantities: Iterable[tuple[int, int, date]]
) -> dict[tuple[int, date], int]:
    """Units per (component, week) for (variant id, baskets, delivery date) triples, from the
    variants' current compositions (one query)."""
    triples = list(variant_quantities)
    compositions: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for variant_id, product_id, quantity in BasketComponent.objects.filter(
        variant_id__in={variant_id for variant_id, _q, _d in triples}
    ).values_list("variant_id", "product_id", "quantity"):
        compositions[variant_id].append((product_id, quantity))
    needs: dict[tuple[int, date], int] = defaultdict(int)
    for variant_id, baskets, day in triples:
        for product_id, quantity in compositions[variant_id]:
            needs[(product_id, week_of(day))] += quantity * baskets
    return dict(needs)


# --- the refresh's side --------------------------------------------------------------------------


def reservations_lock(*, weeks: list[date]) -> None:
    """Create the rows of every basket component for these weeks and lock all of the weeks'
    rows (primary-key order). For the forecast refresh, inside its transaction."""
    product_ids = list(BasketComponent.objects.values_list("product_id", flat=True).distinct())
    _ensure_rows(product_ids=product_ids, weeks=weeks)
    list(
        SupplyReservation.objects.select_for_update()
        .filter(week__in=weeks)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def reservations_set_from_demand(*, weeks: list[date]) -> None:
    """Each (component, week) reservation := the forecast's demand for it (zero without)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO supply_supplyreservation (product_id, week, reserved, updated_at)
            SELECT product_id, week, 0, now() FROM supply_componentdemand
            WHERE week = ANY(%(weeks)s::date[])
            GROUP BY product_id, week
            ON CONFLICT (product_id, week) DO NOTHING
            """,
            {"weeks": weeks},
        )
        cursor.execute(
            """
            UPDATE supply_supplyreservation r
            SET reserved = COALESCE(d.total, 0), updated_at = now()
            FROM supply_supplyreservation r2
            LEFT JOIN (
                SELECT product_id, week, SUM(from_subscriptions + from_orders) AS total
                FROM supply_componentdemand
                WHERE week = ANY(%(weeks)s::date[])
                GROUP BY product_id, week
            ) d ON d.product_id = r2.product_id AND d.week = r2.week
            WHERE r.id = r2.id AND r2.week = ANY(%(weeks)s::date[])
              AND r.reserved IS DISTINCT FROM COALESCE(d.total, 0)
            """,
            {"weeks": weeks},
        )


@dataclass(frozen=True)
class ComponentWeeks:
    product_id: int
    stock: int
    weeks: list[date]
    coverage: list  # list[WeekCoverage]

    def room(self, index: int = 0) -> int:
        return room_from(self.coverage, index)


def components_coverage(
    *, product_ids: Iterable[int], now: datetime | None = None, weeks: list[date] | None = None
) -> dict[int, ComponentWeeks]:
    """Coverage per component over the horizon's weeks, from the reservations (a fixed number
    of queries)."""
    ids = sorted(set(product_ids))
    weeks = weeks or supply_weeks(now=now)
    reserved = {
        (product_id, week): units
        for product_id, week, units in SupplyReservation.objects.filter(
            product_id__in=ids, week__in=weeks
        ).values_list("product_id", "week", "reserved")
    }
    stock = stock_on_hand(product_ids=ids)
    committed = committed_supply(product_ids=ids, weeks=weeks)
    result = {}
    for product_id in ids:
        result[product_id] = ComponentWeeks(
            product_id=product_id,
            stock=stock.get(product_id, 0),
            weeks=weeks,
            coverage=coverage_weeks(
                stock=stock.get(product_id, 0),
                committed=[committed.get((product_id, week), 0) for week in weeks],
                demand=[reserved.get((product_id, week), 0) for week in weeks],
            ),
        )
    return result
