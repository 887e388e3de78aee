"""The one configured Stripe client: keys and address from settings, bounded timeouts, and no
automatic network retries — a retry goes through our ledger (payments.services.ledger), which
knows whether the first attempt already reached Stripe."""

from __future__ import annotations

import stripe
from django.conf import settings

# Seconds: connecting to Stripe, then waiting for its answer. A checkout request must fail
# with a clear message well before gunicorn's 30 s timeout kills it.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 20

_clients: dict[tuple[str, str], stripe.StripeClient] = {}


def stripe_client() -> stripe.StripeClient:
    """The StripeClient for the current settings (cached per key and address; thread-safe:
    the HTTP client keeps one session per thread)."""
    key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)
    client = _clients.get(key)
    if client is None:
        base_addresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
        client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses=base_addresses,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)),
        )
        _clients[key] = client
    return client
