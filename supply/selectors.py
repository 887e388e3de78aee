"""Reads for the supply page and its export: per week and component, demand, stock carried in,
committed supply, shortfall, and the baskets and dates a shortfall affects.

A fixed number of queries whatever the number of components and weeks (the sums come from the
forecast snapshot; coverage is arithmetic over at most N weeks per component)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Sum

from supply.models import ComponentDemand, ForecastRun, VariantDemand
from supply.services.reservations import components_coverage
from supply.services.weeks import supply_weeks


@dataclass(frozen=True)
class AffectedBasket:
    variant_id: int
    title: str
    dates: tuple[date, ...]


@dataclass(frozen=True)
class SupplyRow:
    product_id: int
    title: str
    week: date
    demand: int  # forecast demand of the week
    reserved: int  # demand + sales reserved since the last refresh
    stock: int  # carried into the week (stock on hand for the first week)
    committed: int
    shortfall: int
    affected: tuple[AffectedBasket, ...] = field(default_factory=tuple)

    @property
    def is_short(self) -> bool:
        return self.shortfall > 0


@dataclass(frozen=True)
class SupplyWeek:
    week: date
    rows: list[SupplyRow]

    @property
    def short_rows(self) -> list[SupplyRow]:
        return [row for row in self.rows if row.is_short]

    @property
    def demand_total(self) -> int:
        return sum(row.demand for row in self.rows)


def supply_overview(*, now: datetime | None = None, short_only: bool = False) -> list[SupplyWeek]:
    """The horizon's weeks, each with one row per component in demand or reserved."""
    from oscar.apps.catalogue.models import Product

    from baskets.models import BasketComponent

    weeks = supply_weeks(now=now)
    demand = {
        (row["product_id"], row["week"]): row["total"]
        for row in ComponentDemand.objects.filter(week__in=weeks)
        .values("product_id", "week")
        .annotate(total=Sum("from_subscriptions") + Sum("from_orders"))
    }
    from supply.models import SupplyCommitment, SupplyReservation

    product_ids = (
        {product_id for product_id, _week in demand}
        | set(
            SupplyReservation.objects.filter(week__in=weeks, reserved__gt=0).values_list(
                "product_id", flat=True
            )
        )
        | set(SupplyCommitment.objects.filter(week__in=weeks).values_list("product_id", flat=True))
    )
    coverage = components_coverage(product_ids=product_ids, weeks=weeks)
    titles = dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "title"))
    # Which baskets hold each component, and on which dates they are delivered.
    holders: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for product_id, variant_id, title, persons in BasketComponent.objects.filter(
        product_id__in=product_ids
    ).values_list(
        "product_id", "variant_id", "variant__themed_basket__product__title", "variant__persons"
    ):
        holders[product_id].append((variant_id, f"{title} ({persons})"))
    variant_dates: dict[tuple[int, date], list[date]] = defaultdict(list)
    for variant_id, week, day in (
        VariantDemand.objects.filter(week__in=weeks)
        .order_by("delivery_date")
        .values_list("variant_id", "week", "delivery_date")
    ):
        variant_dates[(variant_id, week)].append(day)

    result = []
    for index, week in enumerate(weeks):
        rows = []
        for product_id in sorted(product_ids, key=lambda pk: (titles.get(pk, ""), pk)):
            cover = coverage[product_id].coverage[index]
            affected: tuple[AffectedBasket, ...] = ()
            if cover.shortfall:
                affected = tuple(
                    AffectedBasket(
                        variant_id=variant_id,
                        title=title,
                        dates=tuple(variant_dates[(variant_id, week)]),
                    )
                    for variant_id, title in holders[product_id]
                    if variant_dates.get((variant_id, week))
                )
            row = SupplyRow(
                product_id=product_id,
                title=titles.get(product_id, str(product_id)),
                week=week,
                demand=demand.get((product_id, week), 0),
                reserved=cover.demand,
                stock=cover.carry_in,
                committed=cover.committed,
                shortfall=cover.shortfall,
                affected=affected,
            )
            if row.is_short or not short_only:
                rows.append(row)
        result.append(SupplyWeek(week=week, rows=rows))
    return result


def forecast_last_run() -> ForecastRun | None:
    return ForecastRun.objects.order_by("-finished_at", "-pk").first()


def picking_totals(*, delivery_date: date) -> list[tuple[str, int]]:
    """Warehouse picking totals for one delivery date (component title, units), from the
    forecast snapshot (placed orders and the subscriptions still to renew)."""
    return list(
        ComponentDemand.objects.filter(delivery_date=delivery_date)
        .order_by("product__title")
        .values_list("product__title")
        .annotate(total=Sum("from_subscriptions") + Sum("from_orders"))
    )
