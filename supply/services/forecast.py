"""The demand forecast: every component needed on every delivery date of the coming weeks,
summed by PostgreSQL (no Python loop over subscriptions or orders).

Counted for a delivery date D in the horizon (``supply.services.weeks.supply_horizon``):

- *subscriptions* due on D: active (or paused, but not on D) and not cancelled, renewing from
  on or before D, in an open district delivering that weekday (opened by D), D neither a
  public holiday nor closed for everyone or for the district, not skipped, and **not renewed
  yet** for D (once renewed, the order counts instead: never twice);
- *placed orders* (one-off, first orders of a subscription, renewals) still booked on D.

Each basket counts its variant's composition × quantity: today's composition for
subscriptions, the composition recorded when the order was placed for orders (today's when the
order has none recorded). A substitution declared for D moves the short component's demand to
its substitute.

``supply_forecast_refresh`` replaces the snapshot tables in one transaction, then sets each
(component, week) reservation to that demand — existing subscribers are counted first — and
re-computes which baskets are capped for new subscriptions.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.db import connection, transaction
from django.utils import timezone

from delivery.calendar import _french_holidays
from supply.models import ComponentDemand, ForecastRun
from supply.services.weeks import supply_horizon, supply_weeks

logger = logging.getLogger("supply.forecast")

# pg_advisory_xact_lock key: one refresh at a time (a nightly run and a debounced one racing).
REFRESH_LOCK_KEY = 0x5355_5050  # "SUPP"

_VARIANT_DEMAND_SQL = """
WITH days AS (
    SELECT d::date AS day
    FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS d
    WHERE NOT (d::date = ANY(%(holidays)s::date[]))
      AND NOT EXISTS (
          SELECT 1 FROM delivery_closeddate c WHERE c.date = d::date AND c.district_id IS NULL
      )
),
subs AS (
    SELECT s.variant_id, days.day, SUM(s.quantity) AS baskets
    FROM baskets_basketsubscription s
    JOIN delivery_district di ON di.id = s.district_id
    JOIN days ON di.weekday = EXTRACT(ISODOW FROM days.day)::int - 1
    WHERE di.is_active
      AND (di.opens_on IS NULL OR di.opens_on <= days.day)
      AND s.starts_on <= days.day
      AND s.status <> 'cancelled'
      AND NOT (s.status = 'paused' AND s.paused_until > days.day)
      AND NOT EXISTS (
          SELECT 1 FROM delivery_closeddate c
          WHERE c.district_id = s.district_id AND c.date = days.day
      )
      AND NOT EXISTS (
          SELECT 1 FROM baskets_subscriptionskip k
          WHERE k.subscription_id = s.id AND k.delivery_date = days.day
      )
      AND NOT EXISTS (
          SELECT 1 FROM baskets_subscriptionrenewal r
          WHERE r.subscription_id = s.id AND r.delivery_date = days.day
      )
    GROUP BY s.variant_id, days.day
),
orders AS (
    SELECT v.id AS variant_id, od.delivery_date AS day, SUM(l.quantity) AS baskets
    FROM delivery_orderdelivery od
    JOIN order_line l ON l.order_id = od.order_id
    JOIN baskets_basketvariant v ON v.product_id = l.product_id
    WHERE od.status = 'booked' AND od.delivery_date BETWEEN %(start)s AND %(end)s
    GROUP BY v.id, od.delivery_date
)
INSERT INTO supply_variantdemand (variant_id, delivery_date, week, from_subscriptions, from_orders)
SELECT variant_id, day, date_trunc('week', day)::date, SUM(sub), SUM(ord)
FROM (
    SELECT variant_id, day, baskets AS sub, 0 AS ord FROM subs
    UNION ALL
    SELECT variant_id, day, 0, baskets FROM orders
) AS u
GROUP BY variant_id, day
"""

_COMPONENT_DEMAND_SQL = """
INSERT INTO supply_componentdemand
    (product_id, delivery_date, week, from_subscriptions, from_orders)
SELECT product_id, day, date_trunc('week', day)::date, SUM(sub), SUM(ord)
FROM (
    -- subscriptions: today's composition
    SELECT c.product_id, vd.delivery_date AS day, vd.from_subscriptions * c.quantity AS sub,
           0 AS ord
    FROM supply_variantdemand vd
    JOIN baskets_basketcomponent c ON c.variant_id = vd.variant_id
    WHERE vd.from_subscriptions > 0
    UNION ALL
    -- placed orders: the composition recorded with the order line
    SELECT (e.value->>'product_id')::int, od.delivery_date, 0,
           l.quantity * (e.value->>'quantity')::int
    FROM delivery_orderdelivery od
    JOIN order_line l ON l.order_id = od.order_id
    JOIN baskets_basketvariant v ON v.product_id = l.product_id
    JOIN baskets_orderlinecost olc ON olc.line_id = l.id
    CROSS JOIN LATERAL jsonb_array_elements(olc.composition) AS e
    WHERE od.status = 'booked' AND od.delivery_date BETWEEN %(start)s AND %(end)s
      AND jsonb_typeof(olc.composition) = 'array'
      AND EXISTS (SELECT 1 FROM catalogue_product p WHERE p.id = (e.value->>'product_id')::int)
    UNION ALL
    -- placed orders without a recorded composition: today's
    SELECT c.product_id, od.delivery_date, 0, l.quantity * c.quantity
    FROM delivery_orderdelivery od
    JOIN order_line l ON l.order_id = od.order_id
    JOIN baskets_basketvariant v ON v.product_id = l.product_id
    JOIN baskets_basketcomponent c ON c.variant_id = v.id
    WHERE od.status = 'booked' AND od.delivery_date BETWEEN %(start)s AND %(end)s
      AND NOT EXISTS (
          SELECT 1 FROM baskets_orderlinecost olc
          WHERE olc.line_id = l.id AND jsonb_typeof(olc.composition) = 'array'
            AND jsonb_array_length(olc.composition) > 0
      )
) AS u
GROUP BY product_id, day
"""

# A substitution for (component, date): its demand moves to the substitute.
_SUBSTITUTIONS_SQL = [
    """
    INSERT INTO supply_componentdemand
        (product_id, delivery_date, week, from_subscriptions, from_orders)
    SELECT s.substitute_id, d.delivery_date, d.week, d.from_subscriptions, d.from_orders
    FROM supply_componentsubstitution s
    JOIN supply_componentdemand d
      ON d.product_id = s.product_id AND d.delivery_date = s.delivery_date
    ON CONFLICT (product_id, delivery_date) DO UPDATE SET
        from_subscriptions = supply_componentdemand.from_subscriptions
                             + EXCLUDED.from_subscriptions,
        from_orders = supply_componentdemand.from_orders + EXCLUDED.from_orders
    """,
    """
    DELETE FROM supply_componentdemand d
    USING supply_componentsubstitution s
    WHERE d.product_id = s.product_id AND d.delivery_date = s.delivery_date
    """,
]


def _holidays(start: date, end: date) -> list[date]:
    from django.conf import settings

    if not settings.DELIVERY_SKIP_PUBLIC_HOLIDAYS:
        return []
    days: set[date] = set()
    for year in range(start.year, end.year + 1):
        days |= _french_holidays(year)
    return sorted(day for day in days if start <= day <= end)


def supply_demand_compute(*, start: date, end: date) -> int:
    """Replace the snapshot tables with the demand of [start, end], in the caller's
    transaction. Returns the number of component rows."""
    params = {"start": start, "end": end, "holidays": _holidays(start, end)}
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM supply_componentdemand")
        cursor.execute("DELETE FROM supply_variantdemand")
        cursor.execute(_VARIANT_DEMAND_SQL, params)
        cursor.execute(_COMPONENT_DEMAND_SQL, params)
        for sql in _SUBSTITUTIONS_SQL:
            cursor.execute(sql)
    return ComponentDemand.objects.count()


def supply_forecast_refresh(*, now: datetime | None = None) -> ForecastRun:
    """Recompute the forecast, the reservations it implies and the caps, in one transaction
    (readers see the previous snapshot until it commits). Idempotent; runs one at a time."""
    from supply.services.caps import variant_caps_refresh
    from supply.services.reservations import reservations_lock, reservations_set_from_demand

    now = now or timezone.now()
    started = timezone.now()
    start, end = supply_horizon(now=now)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK_KEY])
        # Lock the horizon's reservation rows before reading demand: a sale in flight
        # commits first (and is then counted), a later one waits for this refresh.
        weeks = supply_weeks(now=now)
        reservations_lock(weeks=weeks)
        rows = supply_demand_compute(start=start, end=end)
        reservations_set_from_demand(weeks=weeks)
        variant_caps_refresh(now=now)
        run = ForecastRun.objects.create(
            horizon_start=start,
            horizon_end=end,
            started_at=started,
            finished_at=timezone.now(),
            component_rows=rows,
        )
    logger.info("supply forecast %s→%s: %s component rows", start, end, rows)
    return run
