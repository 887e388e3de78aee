"""The load test's checkout flow (bench/locust/locustfile.py), run by locust against the native
stack, places a real order: what bench/bench_stack.py counts as a placed order is one, paid.

The benchmarks run minutes; this runs one guest checkout, so a change to the checkout's pages
that would break the load test's flow breaks a test instead."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def test_the_locust_checkout_places_a_paid_order(stack, tmp_path):
    from oscar.apps.order.models import Order

    from payments.models import StripeOperation

    # given the demo shop (baskets, open Paris districts), committed for the stack's servers
    call_command("load_demo", verbosity=0)
    out = tmp_path / "locust.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BENCH_"))}
    # when one simulated guest goes through the checkout as the load test does
    result = subprocess.run(  # noqa: S603 — our own venv's locust
        [
            str(ROOT / ".venv/bin/locust"),
            *("-f", str(ROOT / "bench/locust/locustfile.py"), "--headless", "--only-summary"),
            *("-u", "1", "-r", "1", "-t", "120s", "--host", stack.url, "CheckoutOnce"),
        ],
        env={**env, "BENCH_OUT": str(out), "BENCH_THINK": "0,0"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    seen = json.loads(out.read_text())
    [checkout] = seen["checkouts"]
    # then it reached the thank-you page, which named its order
    assert checkout["step"] == "done", (checkout, result.stdout[-3000:], stack.logs())
    assert not [r for r in seen["requests"] if r[5]], result.stdout[-3000:]
    # and that order exists for this guest, its payment captured once for its total
    order = Order.objects.get(number=checkout["order"])
    assert order.guest_email == checkout["email"]
    captures = StripeOperation.objects.filter(
        kind=StripeOperation.Kind.CAPTURE,
        status=StripeOperation.Status.SUCCEEDED,
        order_number=order.number,
    )
    assert captures.count() == 1
    assert captures.get().response["amount"] == int(order.total_incl_tax * 100)
