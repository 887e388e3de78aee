"""Reads about a shopper's personal data: their consents, and everything we hold about them as
one JSON-ready document (the "download my data" of their account)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from privacy.models import Consent, ConsentPurpose

EXPORT_FORMAT = 1  # bump when the document's shape changes


def consent_active(*, user_id: int, purpose: str) -> Consent | None:
    return Consent.objects.filter(user_id=user_id, purpose=purpose, withdrawn_at=None).first()


def marketing_email_recipients() -> QuerySet:
    """Active shoppers who agreed to news and offers by email (and have not withdrawn)."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            privacy_consents__purpose=ConsentPurpose.MARKETING_EMAIL,
            privacy_consents__withdrawn_at=None,
        )
        .exclude(email="")
    )


def _address(obj, *, extra: tuple[str, ...] = ()) -> dict[str, Any] | None:
    if obj is None:
        return None
    fields = ("title", "first_name", "last_name", "line1", "line2", "line3", "line4", "state")
    data = {name: getattr(obj, name) for name in fields}
    data.update(
        postcode=obj.postcode,
        country=obj.country_id,
        phone_number=str(obj.phone_number or ""),
        notes=getattr(obj, "notes", ""),
    )
    data.update({name: getattr(obj, name) for name in extra})
    return data


def _orders(user_id: int) -> list[dict[str, Any]]:
    from oscar.apps.order.models import Order

    from delivery.models import OrderDelivery

    orders = (
        Order.objects.filter(user_id=user_id)
        .select_related("shipping_address", "billing_address")
        .prefetch_related("lines")
        .order_by("date_placed", "pk")
    )
    deliveries = {
        d.order_id: d
        for d in OrderDelivery.objects.filter(order__user_id=user_id).select_related("district")
    }
    result = []
    for order in orders:
        delivery = deliveries.get(order.pk)
        result.append(
            {
                "number": order.number,
                "placed_at": order.date_placed,
                "status": order.status,
                "currency": order.currency,
                "total_incl_tax": order.total_incl_tax,
                "total_excl_tax": order.total_excl_tax,
                "shipping_incl_tax": order.shipping_incl_tax,
                "shipping_method": order.shipping_method,
                "shipping_address": _address(order.shipping_address),
                "billing_address": _address(order.billing_address),
                "delivery": {
                    "date": delivery.delivery_date,
                    "district": delivery.district.name,
                    "status": delivery.status,
                }
                if delivery
                else None,
                "lines": [
                    {
                        "title": line.title,
                        "upc": line.upc,
                        "quantity": line.quantity,
                        "unit_price_incl_tax": line.unit_price_incl_tax,
                        "line_price_incl_tax": line.line_price_incl_tax,
                        "status": line.status,
                    }
                    for line in order.lines.all()
                ],
            }
        )
    return result


def _subscriptions(user_id: int) -> list[dict[str, Any]]:
    from baskets.models import BasketSubscription

    subscriptions = (
        BasketSubscription.objects.filter(user_id=user_id)
        .select_related("variant__product", "district")
        .prefetch_related("skips", "renewals__order")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": s.pk,
            "basket": s.variant.product.get_title(),
            "quantity": s.quantity,
            "status": s.status,
            "created_at": s.created_at,
            "renewals_from": s.starts_on,
            "paused_until": s.paused_until,
            "cancelled_at": s.cancelled_at,
            "cancel_reason": s.cancel_reason,
            "district": s.district.name,
            "delivery_address": {
                "first_name": s.first_name,
                "last_name": s.last_name,
                "line1": s.line1,
                "line2": s.line2,
                "city": s.line4,
                "postcode": s.postcode,
                "country": s.country_id,
                "phone_number": s.phone_number,
                "notes": s.notes,
            },
            "skipped_weeks": sorted(skip.delivery_date for skip in s.skips.all()),
            "renewals": [
                {
                    "delivery_date": r.delivery_date,
                    "status": r.status,
                    "order": r.order.number if r.order else None,
                }
                for r in sorted(s.renewals.all(), key=lambda r: r.delivery_date)
            ],
        }
        for s in subscriptions
    ]


def privacy_export(*, user_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything we hold about the shopper, as plain data (dates, Decimals: encode with
    DjangoJSONEncoder). Card numbers are not here: Stripe keeps them, never us."""
    from oscar.apps.address.models import UserAddress

    from delivery.models import WaitlistEntry
    from payments.models import StripeCustomer
    from supply.models import SupplyWaitlistEntry

    user = get_user_model().objects.get(pk=user_id)
    mine = Q(user_id=user_id) | (Q(email__iexact=user.email) if user.email else Q(pk__in=[]))
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now or timezone.now(),
        "account": {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
        },
        "consents": [
            {
                "purpose": c.purpose,
                "wording": c.wording,
                "language": c.language,
                "given_on": c.source,
                "given_at": c.given_at,
                "withdrawn_at": c.withdrawn_at,
            }
            for c in Consent.objects.filter(user_id=user_id).order_by("given_at", "pk")
        ],
        "address_book": [
            _address(a, extra=("is_default_for_shipping", "is_default_for_billing", "date_created"))
            for a in UserAddress.objects.filter(user_id=user_id).order_by("pk")
        ],
        "orders": _orders(user_id),
        "subscriptions": _subscriptions(user_id),
        "delivery_waitlist": [
            {
                "email": w.email,
                "postcode": w.postcode,
                "consent_wording": w.consent_text,
                "consented_at": w.consented_at,
            }
            for w in (
                WaitlistEntry.objects.filter(email__iexact=user.email).order_by("created_at")
                if user.email
                else []
            )
        ],
        "basket_waitlist": [
            {
                "email": w.email,
                "basket": w.variant.product.get_title(),
                "joined_at": w.created_at,
                "told_it_reopened_at": w.notified_at,
            }
            for w in SupplyWaitlistEntry.objects.filter(mine)
            .select_related("variant__product")
            .order_by("created_at")
        ],
        "payments": {
            "stripe_customers": [
                {"id": c.customer_id, "email": c.email, "created_at": c.created_at}
                for c in StripeCustomer.objects.filter(user_id=user_id)
            ],
            "note": "Card numbers are held by Stripe, never by Les Essentiels.",
        },
    }
