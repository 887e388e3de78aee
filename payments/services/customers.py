"""Stripe Customers: one per shopper, reused for every order and weekly renewal."""

from __future__ import annotations

import hashlib
import logging

from django.contrib.auth.models import AbstractBaseUser

from payments.models import StripeCustomer, StripeOperation
from payments.services.ledger import stripe_operation_run
from payments.stripe_client import stripe_client

logger = logging.getLogger("payments")


def _existing(*, user: AbstractBaseUser | None, email: str) -> StripeCustomer | None:
    if user is not None:
        return StripeCustomer.objects.filter(user=user).first()
    return StripeCustomer.objects.filter(user__isnull=True, email__iexact=email).first()


def stripe_customer_ensure(*, user: AbstractBaseUser | None = None, email: str) -> str:
    """The Stripe Customer id for this shopper (a signed-in user, or a guest by email),
    created on first use. Race-safe: racing checkouts share one ledger row, so one Customer."""
    email = email.strip()
    found = _existing(user=user, email=email)
    if found is not None:
        return found.customer_id
    if user is not None:
        key = f"customer-user-{user.pk}"
    else:
        # Emails are personal data: the key (shown in Stripe's dashboard) carries a digest.
        digest = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
        key = f"customer-guest-{digest}"

    def call(idempotency_key: str):
        params = {"email": email, "metadata": {"user_id": str(user.pk) if user else ""}}
        return stripe_client().v1.customers.create(
            params=params, options={"idempotency_key": idempotency_key}
        )

    op = stripe_operation_run(
        idempotency_key=key,
        kind=StripeOperation.Kind.CUSTOMER,
        call=call,
        record=lambda customer: {"id": customer.id},
        request={"email": email, "user_id": user.pk if user else None},
    )
    customer, _created = StripeCustomer.objects.get_or_create(
        customer_id=op.stripe_id, defaults={"user": user, "email": email}
    )
    return customer.customer_id


def payment_method_is_customers(*, payment_method_id: str, customer_id: str) -> bool:
    """Whether this payment method may become this Customer's card: it is saved on this
    Customer, or on none yet (a card just entered; Stripe attaches it when used). A posted id
    is the browser's word: a card saved on another shopper's Customer never qualifies. False
    when Stripe cannot be asked."""
    import stripe

    try:
        method = stripe_client().v1.payment_methods.retrieve(payment_method_id)
    except stripe.StripeError:
        logger.warning("payment method %s could not be checked", payment_method_id)
        return False
    customer = getattr(method, "customer", None)
    if customer is not None and not isinstance(customer, str):
        customer = getattr(customer, "id", None)
    return bool(customer_id) and customer in (None, customer_id)
