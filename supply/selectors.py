"""Reads for the supply page and its export: per week and component, demand, stock carried in,
committed supply, shortfall, and the baskets and dates a shortfall affects.

A fixed number of queries whatever the number of components and weeks (the sums come from the
forecast snapshot; coverage is arithmetic over at most N weeks per component)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Sum

from essentiels.prepared import PreparedQuery
from supply.coverage import room_from
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


_PICKING_ORDERS_SQL = """
SELECT COALESCE(s.substitute_id, u.product_id) AS product_id, SUM(u.units) AS units
FROM (
    -- the composition recorded with each order line
    SELECT (e.value->>'product_id')::int AS product_id,
           l.quantity * (e.value->>'quantity')::int AS units
    FROM delivery_orderdelivery od
    JOIN order_line l ON l.order_id = od.order_id
    JOIN baskets_basketvariant v ON v.product_id = l.product_id
    JOIN baskets_orderlinecost olc ON olc.line_id = l.id
    CROSS JOIN LATERAL jsonb_array_elements(olc.composition) AS e
    WHERE od.status = 'booked' AND od.delivery_date = %(day)s
      AND jsonb_typeof(olc.composition) = 'array'
    UNION ALL
    -- lines without one: the basket's composition today
    SELECT c.product_id, l.quantity * c.quantity
    FROM delivery_orderdelivery od
    JOIN order_line l ON l.order_id = od.order_id
    JOIN baskets_basketvariant v ON v.product_id = l.product_id
    JOIN baskets_basketcomponent c ON c.variant_id = v.id
    WHERE od.status = 'booked' AND od.delivery_date = %(day)s
      AND NOT EXISTS (
          SELECT 1 FROM baskets_orderlinecost olc
          WHERE olc.line_id = l.id AND jsonb_typeof(olc.composition) = 'array'
            AND jsonb_array_length(olc.composition) > 0
      )
) AS u
JOIN catalogue_product p ON p.id = u.product_id
LEFT JOIN supply_componentsubstitution s
       ON s.product_id = u.product_id AND s.delivery_date = %(day)s
GROUP BY 1
"""


@dataclass(frozen=True)
class PickingRow:
    product_id: int
    title: str
    sku: str
    from_orders: int  # placed orders booked on the date (live)
    to_renew: int  # subscriptions not renewed yet (forecast snapshot)

    @property
    def total(self) -> int:
        return self.from_orders + self.to_renew


def picking_totals(*, delivery_date: date) -> list[PickingRow]:
    """Warehouse picking totals for one delivery date, per component: the orders booked on it
    (summed live by PostgreSQL, by the composition each order recorded, with the date's
    substitutions applied) plus what the subscriptions still to renew will add (from the
    forecast snapshot, substitutions applied too). Four queries."""
    from django.db import connection
    from oscar.apps.catalogue.models import Product

    with connection.cursor() as cursor:
        cursor.execute(_PICKING_ORDERS_SQL, {"day": delivery_date})
        placed = {product_id: int(units) for product_id, units in cursor.fetchall()}
    to_renew = dict(
        ComponentDemand.objects.filter(delivery_date=delivery_date, from_subscriptions__gt=0)
        .values("product_id")
        .annotate(total=Sum("from_subscriptions"))
        .values_list("product_id", "total")
    )
    ids = set(placed) | set(to_renew)
    products = {
        pk: (title, upc or "")
        for pk, title, upc in Product.objects.filter(pk__in=ids).values_list("pk", "title", "upc")
    }
    rows = [
        PickingRow(
            product_id=pk,
            title=products.get(pk, (str(pk), ""))[0],
            sku=products.get(pk, ("", ""))[1],
            from_orders=placed.get(pk, 0),
            to_renew=to_renew.get(pk, 0),
        )
        for pk in ids
    ]
    return sorted(rows, key=lambda row: (row.title, row.product_id))


def picking_dates(*, now: datetime | None = None) -> list[tuple[date, int]]:
    """Coming delivery dates with baskets to pick (placed orders or subscriptions to renew),
    soonest first, with their number of baskets (forecast snapshot)."""
    from delivery.calendar import local_today

    rows = (
        VariantDemand.objects.filter(delivery_date__gte=local_today(now=now))
        .values("delivery_date")
        .annotate(total=Sum("from_subscriptions") + Sum("from_orders"))
        .order_by("delivery_date")
        .values_list("delivery_date", "total")
    )
    return list(rows)


# --- the basket page: can this size be sold now, and for which date? ---------------------------


@dataclass(frozen=True)
class VariantSupplyStatus:
    """What the shop may sell of one basket size, as the point of sale would decide it now.

    ``next_date`` is the delivery a sale made now would get (the checked district's next date,
    or — no district known — the first day any district can still be served, so only its week
    is meaningful: ``by_week``). When that delivery cannot be supplied, ``servable_date`` is the
    first later one that can (``None``: none within the forecast weeks, only the waiting list),
    and ``orders_open_at`` when the shop starts selling for it (the cutoff of the date before).
    ``subscriptions_closed`` says why a new weekly subscription is refused (cap or supply)."""

    variant_id: int
    next_date: date | None
    next_ok: bool = True
    short_component: str = ""
    servable_date: date | None = None
    orders_open_at: datetime | None = None
    subscriptions_closed: str | None = None
    by_week: bool = False
    waitlist_url: str = ""

    @property
    def next_week(self) -> date | None:
        return (
            None
            if self.next_date is None
            else self.next_date - timedelta(days=self.next_date.weekday())
        )

    @property
    def servable_week(self) -> date | None:
        return (
            None
            if self.servable_date is None
            else self.servable_date - timedelta(days=self.servable_date.weekday())
        )


def component_weeks(
    *, components: list[tuple[int, int, str]], weeks: list[date]
) -> dict[int, list]:
    """Coverage per component over ``weeks`` in one query (stock, reservations and commitments
    together), for pages that count their queries."""
    from essentiels.oscar_forks.partner.models import StockRecord
    from supply.models import SupplyCommitment, SupplyReservation

    ids = sorted({product_id for product_id, _q, _t in components})
    rows = _coverage_rows(
        SupplyReservation.objects.filter(product_id__in=ids, week__in=weeks),
        SupplyCommitment.objects.filter(product_id__in=ids, week__in=weeks),
        StockRecord.objects.filter(product_id__in=ids),
    )
    return _coverage_by_component(rows, ids=ids, weeks=weeks)


def _coverage_rows(reservations, commitments, stockrecords):
    """One UNION of the reserved and committed units per product and week, and each product's
    stock on hand (``week`` NULL): ``(product_id, week, units, kind)``, kind 0, 1 or 2."""
    from django.db.models import DateField, IntegerField, Value

    return (
        reservations.annotate(kind=Value(0, output_field=IntegerField()))
        .values_list("product_id", "week", "reserved", "kind")
        .union(
            commitments.annotate(kind=Value(1, output_field=IntegerField())).values_list(
                "product_id", "week", "quantity", "kind"
            ),
            stockrecords.values("product_id")
            .annotate(
                week=Value(None, output_field=DateField()),
                total=Sum("num_in_stock"),
                kind=Value(2, output_field=IntegerField()),
            )
            .values_list("product_id", "week", "total", "kind"),
            all=True,
        )
    )


def _coverage_by_component(rows, *, ids: list[int], weeks: list[date]) -> dict[int, list]:
    from supply.coverage import coverage_weeks

    reserved: dict[tuple[int, date], int] = {}
    committed: dict[tuple[int, date], int] = {}
    stock: dict[int, int] = {}
    for product_id, week, units, kind in rows:
        if kind == 2:
            stock[product_id] = max(0, units or 0)
        else:
            (committed if kind else reserved)[(product_id, week)] = units
    return {
        product_id: coverage_weeks(
            stock=stock.get(product_id, 0),
            committed=[committed.get((product_id, week), 0) for week in weeks],
            demand=[reserved.get((product_id, week), 0) for week in weeks],
        )
        for product_id in ids
    }


def _variant_coverage_query(variant_id: int, first_week: date, last_week: date):
    from baskets.models import BasketComponent
    from essentiels.oscar_forks.partner.models import StockRecord
    from supply.models import SupplyCommitment, SupplyReservation

    products = BasketComponent.objects.filter(variant_id=variant_id).values("product_id")
    return _coverage_rows(
        SupplyReservation.objects.filter(
            product_id__in=products, week__gte=first_week, week__lte=last_week
        ),
        SupplyCommitment.objects.filter(
            product_id__in=products, week__gte=first_week, week__lte=last_week
        ),
        StockRecord.objects.filter(product_id__in=products),
    )


def _variant_cap_query(variant_id: int):
    """The variant's cap (if any) and its active subscriptions, in one row."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from baskets.models import BasketSubscription, SubscriptionStatus
    from supply.models import VariantSupplyCap

    return (
        VariantSupplyCap.objects.filter(variant_id=variant_id)
        .annotate(
            active=Coalesce(
                Subquery(
                    BasketSubscription.objects.filter(variant_id=OuterRef("variant_id"))
                    .exclude(status=SubscriptionStatus.CANCELLED)
                    .values("variant_id")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                0,
            )
        )
        .values_list("max_subscriptions", "auto_capped", "active")
    )


# The basket page's supply reads, compiled once and planned once per connection: the page is
# rendered for every visitor the page cache cannot serve (bench/bench_pages.py).
_VARIANT_COVERAGE = PreparedQuery(
    "supply_variant_coverage",
    _variant_coverage_query,
    variant_id=int,
    first_week=date,
    last_week=date,
)
_VARIANT_CAP = PreparedQuery("supply_variant_cap", _variant_cap_query, variant_id=int)


def variant_component_weeks(
    *, variant_id: int, components: list[tuple[int, int, str]], weeks: list[date]
) -> dict[int, list]:
    """``component_weeks`` for a basket variant's own ``components`` (its composition)."""
    rows = _VARIANT_COVERAGE.rows(variant_id=variant_id, first_week=weeks[0], last_week=weeks[-1])
    ids = sorted({product_id for product_id, _q, _t in components})
    return _coverage_by_component(rows, ids=ids, weeks=weeks)


def component_short(
    *, coverage: dict[int, list], components: list[tuple[int, int, str]], index: int
) -> str:
    """The first of ``components`` (product id, units, title) that week ``index`` of
    ``coverage`` (``component_weeks``) cannot take without going short, else ""."""
    for product_id, quantity, title in components:
        if room_from(coverage[product_id], index) < quantity:
            return title
    return ""


def variant_supply_status(
    *,
    variant_id: int,
    components: list[tuple[int, int, str]],
    district=None,
    now: datetime | None = None,
) -> VariantSupplyStatus:
    """Whether one more basket of ``variant_id`` (composition ``components``: product id,
    units, title) can be supplied for its next delivery, and a new subscription for every week
    after it — the checks of ``supply.services.sales`` made without reserving. Three queries
    (five with a district)."""
    from django.conf import settings
    from django.utils import formats
    from django.utils.translation import gettext as _

    from delivery.calendar import delivery_cutoff, delivery_dates_upcoming
    from supply.coverage import adds_shortfall
    from supply.services.sales import waitlist_url
    from supply.services.weeks import first_orderable_date, supply_horizon, week_of

    url = waitlist_url(variant_id=variant_id)
    if not settings.SUPPLY_PROTECT_SALES or not components:
        return VariantSupplyStatus(variant_id=variant_id, next_date=None, waitlist_url=url)
    weeks = supply_weeks(now=now)
    _start, end = supply_horizon(now=now)
    if district is not None:
        candidates = [
            day
            for day in delivery_dates_upcoming(
                district=district, now=now, count=settings.SUPPLY_FORECAST_WEEKS + 1
            )
            if day <= end
        ]
    else:
        first = first_orderable_date(now=now)
        candidates = [first] + [week for week in weeks if week > first]
    if not candidates:
        return VariantSupplyStatus(variant_id=variant_id, next_date=None, waitlist_url=url)
    coverage = variant_component_weeks(variant_id=variant_id, components=components, weeks=weeks)

    def short_in(day: date) -> str:
        return component_short(
            coverage=coverage, components=components, index=weeks.index(week_of(day))
        )

    next_date = candidates[0]
    short = short_in(next_date)
    servable = next_date
    if short:
        servable = next((day for day in candidates[1:] if not short_in(day)), None)
    orders_open_at = None
    if short and servable is not None:
        before = candidates[candidates.index(servable) - 1]
        orders_open_at = delivery_cutoff(day=before)

    # New weekly subscriptions: staff's or the forecast's cap, then the live check that every
    # week from the first servable delivery on can take one more basket.
    closed = None
    cap = next(iter(_VARIANT_CAP.rows(variant_id=variant_id)), None)
    manual, auto_capped, active = cap if cap is not None else (None, False, 0)
    if manual is not None and active >= manual:
        closed = _("This basket takes no new subscribers for now: it is full.")
    elif servable is None:
        closed = _("This basket takes no new subscribers for now: we cannot secure its supply.")
    else:
        first_index = weeks.index(week_of(servable))
        for product_id, quantity, title in components:
            cover = coverage[product_id]
            extra = [quantity if index >= first_index else 0 for index in range(len(weeks))]
            late = adds_shortfall(
                stock=cover[0].carry_in,
                committed=[week.committed for week in cover],
                demand=[week.demand for week in cover],
                extra=extra,
            )
            if late is not None:
                closed = _(
                    "This basket takes no new subscribers for now: we cannot secure enough "
                    "“%(component)s” for the week of %(week)s."
                ) % {"component": title, "week": formats.date_format(weeks[late], "j F Y")}
                break
        if closed is None and auto_capped:
            from supply.services.caps import variant_cap_reason

            closed = variant_cap_reason(variant_id=variant_id)
    return VariantSupplyStatus(
        variant_id=variant_id,
        next_date=next_date,
        next_ok=not short,
        short_component=short,
        servable_date=servable,
        orders_open_at=orders_open_at,
        subscriptions_closed=closed,
        by_week=district is None,
        waitlist_url=url,
    )
