"""Emails about subscriptions: rendered from Oscar's communication templates, sent once.

Each email is an Oscar communication event (code ``SUBSCRIPTION_<KIND>``: staff may override its
text in the dashboard's "Emails" page; the files under
``templates/oscar/communication/emails/commtype_subscription_<kind>_*`` are the default) sent
with Oscar's Dispatcher, so it also appears in the shopper's "Email history".

``subscription_message_send`` records a SubscriptionMessage under a unique key in the caller's
transaction and sends after commit: a re-run renewal or a redelivered task finds the key and sends
nothing twice; a rolled-back change sends nothing. A send that fails (SMTP down) leaves the row
unsent; ``subscription_messages_resend`` (beat) tries it again.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from oscar.apps.communication.models import CommunicationEventType
from oscar.apps.communication.utils import Dispatcher

from baskets.models import BasketSubscription, SubscriptionMessage

logger = logging.getLogger("baskets.notifications")


def shop_url(path: str) -> str:
    """An absolute link for an email (``SHOP_BASE_URL`` + path)."""
    return f"{settings.SHOP_BASE_URL}{path}"


def subscription_urls(*, subscription: BasketSubscription) -> dict[str, str]:
    return {
        "subscription_url": shop_url(
            reverse("baskets:subscription-detail", kwargs={"pk": subscription.pk})
        ),
        "subscriptions_url": shop_url(reverse("baskets:subscriptions")),
    }


def _render(*, kind: str, context: dict[str, Any]) -> dict[str, str]:
    # Emails are written in the shop's language (French), whatever the worker's locale.
    with translation.override(settings.LANGUAGE_CODE):
        return CommunicationEventType.objects.get_and_render(
            code=f"SUBSCRIPTION_{kind.upper()}", context=context
        )


def subscription_message_send(
    *,
    subscription: BasketSubscription,
    kind: str,
    key: str,
    context: dict[str, Any] | None = None,
    delivery_date: date | None = None,
) -> SubscriptionMessage | None:
    """Render the ``kind`` email for this subscription, record it under ``key`` and send it
    once the caller's transaction commits. Returns None (sending nothing) when an email with
    this key was recorded already."""
    if SubscriptionMessage.objects.filter(key=key).exists():
        return None
    full_context = {
        "subscription": subscription,
        "user": subscription.user,
        "delivery_date": delivery_date,
        "shop_name": settings.OSCAR_SHOP_NAME,
        **subscription_urls(subscription=subscription),
        **(context or {}),
    }
    messages = _render(kind=kind, context=full_context)
    subject = " ".join(messages["subject"].split())
    try:
        with transaction.atomic():
            message = SubscriptionMessage.objects.create(
                subscription=subscription,
                kind=kind,
                key=key,
                delivery_date=delivery_date,
                subject=subject[:255],
                body=messages["body"],
                html=messages.get("html") or "",
            )
    except IntegrityError:
        return None  # a racer recorded it first; it sends it
    transaction.on_commit(lambda: subscription_message_deliver(message_id=message.pk))
    return message


def subscription_message_deliver(*, message_id: int) -> bool:
    """Send a recorded email now (Oscar's Dispatcher) and mark it sent; False on failure
    (logged; the resend task tries again). Sending twice is avoided by claiming the row."""
    claimed = SubscriptionMessage.objects.filter(pk=message_id, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return True
    message = SubscriptionMessage.objects.select_related("subscription__user").get(pk=message_id)
    user = message.subscription.user
    try:
        Dispatcher().dispatch_user_messages(
            user,
            {"subject": message.subject, "body": message.body, "html": message.html, "sms": ""},
        )
    except Exception:
        logger.exception("subscription email %s could not be sent", message.pk)
        SubscriptionMessage.objects.filter(pk=message_id).update(sent_at=None)
        return False
    return True


def subscription_messages_resend(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Send again recorded emails that were never sent (the send failed, the process died
    right after commit). Returns how many went out."""
    cutoff = timezone.now() - older_than
    ids = list(
        SubscriptionMessage.objects.filter(sent_at__isnull=True, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    return sum(subscription_message_deliver(message_id=pk) for pk in ids)
