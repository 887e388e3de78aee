"""Closing a basket to new subscribers when its supply cannot follow.

Automatic (from the forecast, on every refresh): a variant is capped when one of its components,
in some week a new subscriber could still be delivered in (from the first week whose cutoff has
not passed: weeks already fixed take no new sale), has less room left than one more basket
needs — so the next subscriber would make an existing one short. Manual: staff set
``max_subscriptions``. Existing subscribers are never touched: a cap only refuses *new*
subscriptions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from baskets.models import BasketComponent, BasketSubscription, BasketVariant, SubscriptionStatus
from supply.models import VariantSupplyCap
from supply.services.reservations import components_coverage
from supply.services.weeks import first_orderable_week_index, supply_weeks


@transaction.atomic
def variant_caps_refresh(*, now: datetime | None = None) -> int:
    """Recompute ``auto_capped`` for every variant; returns how many are capped."""
    compositions: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for variant_id, product_id, quantity, title in BasketComponent.objects.values_list(
        "variant_id", "product_id", "quantity", "product__title"
    ):
        compositions[variant_id].append((product_id, quantity, title))
    weeks_ahead = supply_weeks(now=now)
    coverage = components_coverage(
        product_ids={p for parts in compositions.values() for p, _q, _t in parts},
        now=now,
        weeks=weeks_ahead,
    )
    first = first_orderable_week_index(weeks=weeks_ahead, now=now)
    existing = {cap.variant_id: cap for cap in VariantSupplyCap.objects.select_for_update()}
    to_create, to_update = [], []
    capped = 0
    for variant_id in BasketVariant.objects.values_list("pk", flat=True):
        reasons = []
        for product_id, quantity, title in compositions.get(variant_id, []):
            weeks = coverage[product_id]
            for index, week in enumerate(weeks.weeks):
                if index >= first and weeks.room(index) < quantity:
                    reasons.append(
                        {
                            "product_id": product_id,
                            "title": title,
                            "week": week.isoformat(),
                            "shortfall": weeks.coverage[index].shortfall,
                        }
                    )
                    break
        cap = existing.get(variant_id)
        if cap is None:
            to_create.append(
                VariantSupplyCap(
                    variant_id=variant_id, auto_capped=bool(reasons), auto_reasons=reasons
                )
            )
        elif cap.auto_capped != bool(reasons) or cap.auto_reasons != reasons:
            cap.auto_capped, cap.auto_reasons = bool(reasons), reasons
            to_update.append(cap)
        capped += bool(reasons)
    VariantSupplyCap.objects.bulk_create(to_create, ignore_conflicts=True)
    VariantSupplyCap.objects.bulk_update(to_update, ["auto_capped", "auto_reasons", "updated_at"])
    return capped


def variant_cap_reason(*, variant_id: int) -> str | None:
    """Why new subscriptions to this variant are closed (translated), or None when open."""
    cap = VariantSupplyCap.objects.filter(variant_id=variant_id).first()
    if cap is None:
        return None
    if cap.max_subscriptions is not None:
        active = (
            BasketSubscription.objects.filter(variant_id=variant_id)
            .exclude(status=SubscriptionStatus.CANCELLED)
            .count()
        )
        if active >= cap.max_subscriptions:
            return _("This basket takes no new subscribers for now: it is full.")
    if cap.auto_capped:
        reason = cap.auto_reasons[0] if cap.auto_reasons else {}
        week = date.fromisoformat(reason["week"]) if reason.get("week") else None
        return _(
            "This basket takes no new subscribers for now: we cannot secure enough “%(component)s” "
            "for the week of %(week)s."
        ) % {
            "component": reason.get("title", "?"),
            "week": formats.date_format(week, "j F Y") if week else "?",
        }
    return None
