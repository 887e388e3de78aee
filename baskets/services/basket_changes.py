"""Telling subscribers, before the cutoff, that their basket's price or contents change.

A change reaches the *next* orders only by construction: a renewal order is an ordinary Oscar
order placed at the cutoff with the variant's price and composition of that moment
(baskets.services.renewal), and a placed order keeps its lines (and, in OrderLineCost, the
composition it was made of). What this module adds is the notice.

**What a subscriber knows** is their last order of this basket (its line's unit price and the
composition kept with it: the checkout's first order or a renewal's), or, when more recent, the
last "basket changed" email (whose key carries the fingerprint of the state it announced). The
variant's current state (first stock record's price, components and quantities) is compared
with it: when the fingerprints differ, the subscriber gets one email saying what changes
compared with that last order (price per delivery, products added, removed or in another
quantity), from which delivery, and until when they can skip or change it.

**Once per state, not per edit**: the receivers collect the variants touched in a transaction and
enqueue one task per variant after commit (an admin save of ten component lines is one task);
the email's key is ``basket-changed-<subscription>-<n>-<fingerprint>`` (``n``: the number of such
emails before it), so a repeated or racing task finds the key and sends nothing twice, and the
same state is never announced twice in a row — while a change, then its reversal, are both told.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from oscar.apps.order.models import Line

from baskets.models import (
    BasketComponent,
    BasketSubscription,
    BasketVariant,
    MessageKind,
    SubscriptionMessage,
    SubscriptionRenewal,
    SubscriptionStatus,
)
from baskets.selectors import selling_price
from baskets.services.notifications import subscription_message_send
from baskets.services.subscriptions import subscription_due_dates, subscription_fixed_delivery
from delivery.calendar import PARIS, delivery_cutoff

logger = logging.getLogger("baskets.basket_changes")

KEY_PREFIX = "basket-changed"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BasketState:
    """A variant's price (incl. VAT, per basket) and composition ``{product_id: (title, qty)}``."""

    price: Decimal | None
    components: dict[int, tuple[str, int]]

    @property
    def fingerprint(self) -> str:
        data = {
            "price": None if self.price is None else str(self.price.quantize(CENT)),
            "components": sorted((pid, qty) for pid, (_title, qty) in self.components.items()),
        }
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Baseline:
    """A subscriber's last order of the variant: what they were last charged and delivered."""

    state: BasketState
    order_number: str
    placed_at: datetime


def variant_state(*, variant: BasketVariant) -> BasketState:
    """The variant's current price and composition (two queries)."""
    components = {
        row["product_id"]: (row["product__title"], row["quantity"])
        for row in BasketComponent.objects.filter(variant=variant).values(
            "product_id", "product__title", "quantity"
        )
    }
    return BasketState(price=selling_price(product_id=variant.product_id), components=components)


def _baselines(
    *, variant: BasketVariant, subscriptions: list[BasketSubscription]
) -> dict[int, _Baseline]:
    """Each subscription's last order with a line of this variant, in two queries."""
    orders_of: dict[int, int] = {}  # order id -> subscription id
    for subscription in subscriptions:
        if subscription.first_order_id:
            orders_of[subscription.first_order_id] = subscription.pk
    for order_id, subscription_id in SubscriptionRenewal.objects.filter(
        subscription__in=subscriptions, order__isnull=False
    ).values_list("order_id", "subscription_id"):
        orders_of[order_id] = subscription_id
    lines = (
        Line.objects.filter(order_id__in=list(orders_of), product_id=variant.product_id)
        .exclude(cost__isnull=True)
        .values(
            "order_id",
            "order__number",
            "order__date_placed",
            "unit_price_incl_tax",
            "cost__composition",
        )
    )
    found: dict[int, _Baseline] = {}
    for line in lines:
        subscription_id = orders_of[line["order_id"]]
        known = found.get(subscription_id)
        if known is not None and known.placed_at >= line["order__date_placed"]:
            continue
        components = {
            int(item["product_id"]): (item.get("title", ""), int(item["quantity"]))
            for item in line["cost__composition"] or []
        }
        found[subscription_id] = _Baseline(
            state=BasketState(price=line["unit_price_incl_tax"], components=components),
            order_number=line["order__number"],
            placed_at=line["order__date_placed"],
        )
    return found


def _last_notices(
    *, subscriptions: list[BasketSubscription]
) -> dict[int, tuple[int, str, datetime]]:
    """``{subscription id: (emails so far, last fingerprint, last sent at)}``, in one query."""
    result: dict[int, tuple[int, str, datetime]] = {}
    for subscription_id, key, created_at in (
        SubscriptionMessage.objects.filter(
            subscription__in=subscriptions, kind=MessageKind.BASKET_CHANGED
        )
        .order_by("created_at", "pk")
        .values_list("subscription_id", "key", "created_at")
    ):
        count = result.get(subscription_id, (0, "", created_at))[0]
        result[subscription_id] = (count + 1, key.rsplit("-", 1)[-1], created_at)
    return result


def basket_change_describe(*, before: BasketState, after: BasketState) -> dict:
    """What changes between two states, for the email: price, added, removed, requantified."""
    added = [
        {"title": title, "quantity": qty}
        for pid, (title, qty) in after.components.items()
        if pid not in before.components
    ]
    removed = [
        {"title": title, "quantity": qty}
        for pid, (title, qty) in before.components.items()
        if pid not in after.components
    ]
    requantified = [
        {"title": title, "before": before.components[pid][1], "after": qty}
        for pid, (title, qty) in after.components.items()
        if pid in before.components and before.components[pid][1] != qty
    ]
    return {
        "price_changed": before.price != after.price,
        "added": sorted(added, key=lambda item: item["title"]),
        "removed": sorted(removed, key=lambda item: item["title"]),
        "requantified": sorted(requantified, key=lambda item: item["title"]),
    }


def _per_delivery(price: Decimal | None, quantity: int) -> Decimal | None:
    return None if price is None else (price * quantity).quantize(CENT)


def variant_change_notices_send(*, variant_id: int, now: datetime | None = None) -> int:
    """Email every active or paused subscriber of this variant whose basket (price or
    composition) is no longer what they were last charged or told, once per state. Returns
    the number of emails recorded. Subscribers without an order of this variant yet (nothing
    to compare with) are left out. Safe to repeat and to race."""
    now = now or timezone.now()
    variant = BasketVariant.objects.select_related("product").filter(pk=variant_id).first()
    if variant is None:
        return 0
    subscriptions = list(
        BasketSubscription.objects.filter(
            variant=variant, status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED]
        )
        .select_related("user", "district")
        .order_by("pk")
    )
    if not subscriptions:
        return 0
    current = variant_state(variant=variant)
    if current.price is None:
        return 0  # not sellable without a price: its renewals fail and say so
    baselines = _baselines(variant=variant, subscriptions=subscriptions)
    notices = _last_notices(subscriptions=subscriptions)
    sent = 0
    for subscription in subscriptions:
        baseline = baselines.get(subscription.pk)
        if baseline is None:
            logger.info(
                "subscription %s: no order of variant %s to compare with, no notice",
                subscription.pk,
                variant_id,
            )
            continue
        count, told, told_at = notices.get(subscription.pk, (0, "", None))
        last_known = told if told and told_at > baseline.placed_at else baseline.state.fingerprint
        if last_known == current.fingerprint:
            continue
        if _notice_send(
            subscription=subscription,
            variant=variant,
            baseline=baseline,
            current=current,
            key=f"{KEY_PREFIX}-{subscription.pk}-{count}-{current.fingerprint}",
            now=now,
        ):
            sent += 1
    return sent


def _notice_send(
    *,
    subscription: BasketSubscription,
    variant: BasketVariant,
    baseline: _Baseline,
    current: BasketState,
    key: str,
    now: datetime,
) -> bool:
    fixed = subscription_fixed_delivery(subscription=subscription, now=now)
    due = subscription_due_dates(subscription=subscription, count=1, now=now)
    applies_from = due[0] if due else None
    changes = basket_change_describe(before=baseline.state, after=current)
    context = {
        **changes,
        "unchanged": not (
            changes["price_changed"]
            or changes["added"]
            or changes["removed"]
            or changes["requantified"]
        ),
        "basket_title": variant.product.get_title(),
        "quantity": subscription.quantity,
        "old_amount": _per_delivery(baseline.state.price, subscription.quantity),
        "new_amount": _per_delivery(current.price, subscription.quantity),
        "last_order_number": baseline.order_number,
        "fixed_delivery": fixed,
        "applies_from": applies_from,
        "cutoff": delivery_cutoff(day=applies_from).astimezone(PARIS) if applies_from else None,
        "components": sorted(
            ({"title": title, "quantity": qty} for title, qty in current.components.values()),
            key=lambda item: item["title"],
        ),
    }
    with transaction.atomic():
        message = subscription_message_send(
            subscription=subscription,
            kind=MessageKind.BASKET_CHANGED,
            key=key,
            context=context,
            delivery_date=applies_from,
        )
    return message is not None


# --- collecting changes in a transaction ---------------------------------------------------------

_pending = threading.local()


def variant_changes_collect(
    *,
    enqueue: Callable[[int], None],
    variant_ids: Iterable[int] = (),
    product_ids: Iterable[int] = (),
) -> None:
    """Remember variants (or products, some of which are variants) whose price or composition
    was written, and once the transaction commits, call ``enqueue(variant_id)`` once for each.
    Many writes in one transaction (an admin save of a whole composition) make one call per
    variant; outside a transaction, the call happens at once. Costs no query per write: the
    products are resolved to variants in one query at commit."""
    pending = _pending.__dict__.setdefault("ids", {"variants": set(), "products": set()})
    pending["variants"].update(variant_ids)
    pending["products"].update(product_ids)
    # One callback per write; the first to run takes every id, the others find none. Ids of a
    # rolled-back transaction go with the next commit: the notice task then finds no change.
    transaction.on_commit(lambda: _pending_enqueue(enqueue), robust=True)


def _pending_enqueue(enqueue: Callable[[int], None]) -> None:
    pending = _pending.__dict__.pop("ids", None)
    if not pending:
        return
    # One query, which also drops variants deleted since (and ids left by a rollback).
    variant_ids = BasketVariant.objects.filter(
        Q(pk__in=pending["variants"]) | Q(product_id__in=pending["products"])
    ).values_list("pk", flat=True)
    for variant_id in sorted(variant_ids):
        enqueue(variant_id)


def variant_change_notices_sweep(*, enqueue: Callable[[int], None]) -> int:
    """Enqueue the notice task for every variant with an active or paused subscriber: catches
    writes that send no signal (queryset updates, bulk compositions) and lost enqueues. The
    task does nothing for a subscriber already told. Returns how many were enqueued."""
    variant_ids = sorted(
        set(
            BasketSubscription.objects.filter(
                status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED]
            ).values_list("variant_id", flat=True)
        )
    )
    for variant_id in variant_ids:
        enqueue(variant_id)
    return len(variant_ids)
