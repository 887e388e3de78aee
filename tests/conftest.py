"""Shared fixtures. Tests run against the real PostgreSQL and Redis (see essentiels.settings.test):
if either does not answer, the whole run stops with a clear message instead of skipping."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connections


def pytest_sessionstart(session):
    import psycopg2
    import redis

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit(f"Tests need PostgreSQL; DATABASE_URL points at {db['ENGINE']}.", returncode=3)
    try:
        psycopg2.connect(
            host=db["HOST"],
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"],
            dbname=db["NAME"],
            connect_timeout=3,
        ).close()
    except psycopg2.OperationalError as exc:
        pytest.exit(
            f"PostgreSQL is unreachable ({exc}). Run scripts/services.sh ensure.", returncode=3
        )
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.exit(f"Redis is unreachable at {settings.REDIS_URL} ({exc}).", returncode=3)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _french_by_default():
    # A request under /en/ leaves English active in the thread; every test starts in French.
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def race(n: int, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> list[Any]:
    """Run ``fn(*args, **kwargs)`` in ``n`` threads released together, each on its own database
    connection. Returns each call's result, or the exception it raised. Needs a transactional test
    (``@pytest.mark.django_db(transaction=True)``) so the threads see committed rows."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 — reported to the test, which asserts on it
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def racer():
    return race


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (``playwright install`` cannot download here)."""
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself (not the live server) are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page; the test fails if the Content-Security-Policy blocked anything on it (a
    script or style it blocks would otherwise go unnoticed when the test does not need it)."""
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: blocked.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    yield page
    context.close()
    assert not blocked, "the Content-Security-Policy blocked:\n" + "\n".join(blocked)


# localstripe for tests outside tests/payments that go through the checkout's payment step.
from tests.payments.conftest import WEBHOOK_SECRET, localstripe_url  # noqa: E402, F401


@pytest.fixture
def stripe_card(settings, localstripe_url):  # noqa: F811
    """``stripe_card(email, number)``: a card saved on that shopper's Stripe Customer, as the
    browser's confirmCardSetup leaves it; returns the payment method id to post."""
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_checkout"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_checkout"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    def make(email: str, number: str = "4242424242424242") -> str:
        from payments.services.customers import stripe_customer_ensure
        from payments.stripe_client import stripe_client

        customer_id = stripe_customer_ensure(email=email)
        method = stripe_client().v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
            }
        )
        stripe_client().v1.payment_methods.attach(method.id, params={"customer": customer_id})
        return method.id

    return make
