"""Payments tests talk to a real localstripe (a stateful fake Stripe over HTTP), started once per
session on a free port; webhooks come back over HTTP to pytest-django's live server."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
LOCALSTRIPE = ROOT / ".venv" / "bin" / "localstripe"
WEBHOOK_SECRET = "whsec_test_payments"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A localstripe server of our own, from scratch (its store is in memory; it also pickles
    it to /tmp/localstripe.pickle, which --from-scratch never reads back)."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 — our own venv's binary
        [str(LOCALSTRIPE), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/js.stripe.com/v3/", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.exit(f"localstripe did not start on port {port}", returncode=3)
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _stripe_settings(settings, localstripe_url):
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_payments"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_payments"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def eager_tasks(settings):
    """Celery tasks run in the calling thread (the live server's, for webhooks). Through
    Django's settings, which the Celery app reads live: a value assigned on ``app.conf`` would
    shadow them for the rest of the session, even "restored"."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True


@pytest.fixture
def localstripe_webhook(localstripe_url, live_server, eager_tasks) -> Iterator[str]:
    """Register our webhook endpoint with localstripe, so its events arrive over real HTTP.

    localstripe's API: ``POST /_config/webhooks/<name>`` with ``url``, ``secret`` and an
    optional ``events`` list. Webhooks cannot be deleted: on teardown the same name is
    re-registered for an event type that never happens, so later tests get no stray calls.
    """
    endpoint = f"{live_server.url}/paiements/webhook/stripe/"
    config = f"{localstripe_url}/_config/webhooks/payments-tests"
    response = requests.post(config, json={"url": endpoint, "secret": WEBHOOK_SECRET}, timeout=5)
    response.raise_for_status()
    yield endpoint
    requests.post(
        config,
        json={"url": endpoint, "secret": WEBHOOK_SECRET, "events": ["never.happens"]},
        timeout=5,
    ).raise_for_status()


@pytest.fixture
def stripe_api(localstripe_url):
    """A raw client on localstripe, for what the browser (Stripe.js) or Stripe itself does."""
    from payments.stripe_client import stripe_client

    return stripe_client()


@pytest.fixture
def customer_with_card(db, stripe_api):
    """A Customer with a saved card, the way the browser leaves it after confirmCardSetup."""

    def make(number: str = "4242424242424242", email: str = "lea@example.fr") -> tuple[str, str]:
        from payments.services import stripe_customer_ensure

        customer_id = stripe_customer_ensure(email=email)
        pm = stripe_api.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
            }
        )
        stripe_api.v1.payment_methods.attach(pm.id, params={"customer": customer_id})
        return customer_id, pm.id

    return make


@pytest.fixture
def order_factory(db):
    def make(number: str):
        from oscar.test.factories import create_order

        return create_order(number=number)

    return make


@pytest.fixture
def order_number() -> str:
    # localstripe's store lives for the whole session: every test uses its own numbers.
    return f"T{uuid.uuid4().hex[:10].upper()}"


def intents_for_order(stripe_api, order_number: str) -> list:
    """Every PaymentIntent localstripe holds for this order (the ledger's proof of one write)."""
    listing = stripe_api.v1.payment_intents.list(params={"limit": 100})
    return [
        pi
        for pi in listing.auto_paging_iter()
        if pi.metadata and pi.metadata.to_dict().get("order_number") == order_number
    ]
