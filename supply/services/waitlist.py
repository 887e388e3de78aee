"""A capped basket's waiting list: shoppers join it, and are told once when it reopens."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone, translation
from oscar.apps.communication.models import CommunicationEventType
from oscar.apps.communication.utils import Dispatcher

from baskets.models import BasketVariant
from baskets.services.notifications import shop_url
from baskets.storefront import basket_url
from supply.models import SupplyWaitlistEntry
from supply.services.caps import variant_cap_reason

logger = logging.getLogger("supply.waitlist")
REOPENED_EVENT = "SUPPLY_WAITLIST_REOPENED"


def waitlist_join(
    *, variant_id: int, email: str, user_id: int | None = None
) -> SupplyWaitlistEntry:
    """Put an email on a basket's waiting list, once (joining twice keeps the first entry;
    joining again after being told it reopened asks to be told next time too)."""
    entry, created = SupplyWaitlistEntry.objects.get_or_create(
        variant_id=variant_id, email=email.strip().lower(), defaults={"user_id": user_id}
    )
    if not created and entry.notified_at is not None:
        entry.notified_at = None
        entry.save(update_fields=["notified_at"])
    return entry


def waitlist_notify_reopened() -> int:
    """Email, once, everyone waiting for a basket that takes new subscribers again (its cap
    lifted by staff or by the forecast). Each entry is claimed before its email goes, so two
    runs never send twice; a failed send is released for the next run. Returns how many were
    told."""
    variant_ids = (
        SupplyWaitlistEntry.objects.filter(notified_at__isnull=True)
        .values_list("variant_id", flat=True)
        .distinct()
    )
    told = 0
    for variant in BasketVariant.objects.filter(pk__in=list(variant_ids)).select_related(
        "product", "themed_basket__product"
    ):
        if variant_cap_reason(variant_id=variant.pk) is not None:
            continue
        parent = variant.themed_basket.product
        context = {
            "basket_title": variant.product.get_title(),
            "basket_url": shop_url(basket_url(product_id=parent.pk, slug=parent.slug)),
            "shop_name": settings.OSCAR_SHOP_NAME,
        }
        # Written in the shop's language (French), whatever the worker's locale.
        with translation.override(settings.LANGUAGE_CODE):
            messages = CommunicationEventType.objects.get_and_render(
                code=REOPENED_EVENT, context=context
            )
        messages["subject"] = " ".join(messages["subject"].split())
        for entry in SupplyWaitlistEntry.objects.filter(
            variant=variant, notified_at__isnull=True
        ).order_by("created_at", "pk"):
            claimed = SupplyWaitlistEntry.objects.filter(
                pk=entry.pk, notified_at__isnull=True
            ).update(notified_at=timezone.now())
            if not claimed:
                continue
            try:
                Dispatcher().dispatch_direct_messages(entry.email, messages)
            except Exception:
                logger.exception("waitlist email to entry %s could not be sent", entry.pk)
                SupplyWaitlistEntry.objects.filter(pk=entry.pk).update(notified_at=None)
                continue
            told += 1
    return told
