"""Reads about payments."""

from __future__ import annotations

from payments.models import StripeOperation


def order_authorisation(*, order_number: str) -> StripeOperation | None:
    """The latest successful PaymentIntent of an order (what refunds refer to), if any."""
    return (
        StripeOperation.objects.filter(
            kind=StripeOperation.Kind.PAYMENT_INTENT,
            order_number=order_number,
            status=StripeOperation.Status.SUCCEEDED,
        )
        .exclude(stripe_id="")
        .order_by("-pk")
        .first()
    )
