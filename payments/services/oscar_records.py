"""How Stripe money movements show on Oscar orders: payment events and the payment source.

Every function here is idempotent on a reference (the Stripe id): a webhook and the service
that made the call may both report the same capture, the order shows it once.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext, override
from oscar.apps.order.models import Order, PaymentEvent, PaymentEventType
from oscar.apps.payment.models import Source, SourceType

logger = logging.getLogger("payments")

SOURCE_TYPE_NAME = "Stripe"


def _event_type_names() -> dict[str, str]:
    # Stored in the database once, in French (the shop's language): staff read them as is.
    with override("fr"):
        return {
            "authorise": gettext("Authorisation"),
            "capture": gettext("Capture"),
            "cancel": gettext("Authorisation cancelled"),
            "refund": gettext("Refund"),
        }


def order_find(*, order_number: str | None) -> Order | None:
    if not order_number:
        return None
    return Order.objects.filter(number=order_number).first()


def stripe_source_type() -> SourceType:
    source_type, _created = SourceType.objects.get_or_create(name=SOURCE_TYPE_NAME)
    return source_type


@transaction.atomic
def order_payment_event_record(
    *, order: Order, kind: str, amount: Decimal, reference: str
) -> PaymentEvent | None:
    """Add a payment event to the order unless one of this kind already has this reference.

    ``kind`` is authorise / capture / cancel / refund. Also keeps the order's Stripe payment
    ``Source`` (when it has one) in step: debited on capture, refunded on refund.
    Returns the new event, or None when it was already recorded.
    """
    # The order row lock serialises a webhook and a service reporting the same movement.
    order = Order.objects.select_for_update().get(pk=order.pk)
    name = _event_type_names()[kind]
    event_type, _created = PaymentEventType.objects.get_or_create(name=name)
    if PaymentEvent.objects.filter(
        order=order, event_type=event_type, reference=reference
    ).exists():
        return None
    event = PaymentEvent.objects.create(
        order=order, event_type=event_type, amount=amount, reference=reference
    )
    source = Source.objects.filter(order=order, source_type__name=SOURCE_TYPE_NAME).first()
    if source is not None:
        if kind == "capture":
            source.amount_debited += amount
        elif kind == "refund":
            source.amount_refunded += amount
        source.save()
    logger.info("order %s: payment event %s %s (%s)", order.number, kind, amount, reference)
    return event
