"""Template helpers for subscribing: which cart or order lines are weekly, the shopper's
district (checked with the postcode form) for the basket page's « Chaque semaine » line, and
the subscriptions an order started."""

from __future__ import annotations

from typing import Any

from django import template

from baskets.models import BasketSubscription, SubscriptionStatus
from baskets.services.subscribe import line_frequency, line_is_weekly
from delivery.models import District
from delivery.shipping import SESSION_DISTRICT_KEY

register = template.Library()


@register.filter
def is_weekly(line: Any) -> bool:
    """{% if line|is_weekly %}: the cart or order line was chosen « Chaque semaine »."""
    return line_is_weekly(line)


@register.filter
def frequency(line: Any) -> str:
    """{{ line|frequency }}: ``weekly``, ``once`` or "" (a line without the choice)."""
    return line_frequency(line)


@register.simple_tag(takes_context=True)
def checked_district(context) -> District | None:
    """{% checked_district as district %}: the open district of the postcode the shopper
    checked, if any (its weekday is the day a subscription would be delivered)."""
    request = context.get("request")
    district_id = request.session.get(SESSION_DISTRICT_KEY) if request is not None else None
    if not district_id:
        return None
    return District.objects.open().filter(pk=district_id, weekday__isnull=False).first()


@register.simple_tag
def order_subscriptions(order) -> list[BasketSubscription]:
    """{% order_subscriptions order as subscriptions %}: what this checkout order started."""
    return list(
        BasketSubscription.objects.filter(first_order=order)
        .exclude(status=SubscriptionStatus.CANCELLED)
        .select_related("variant__product", "district")
        .order_by("pk")
    )
