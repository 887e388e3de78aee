"""Payments throughput: authorisation + capture per second against localstripe, through our
ledger, with 1, 4 and 8 concurrent threads; SQL queries per payment.

Run: `.venv/bin/python bench/bench_payments.py`. Needs PostgreSQL and Redis; starts its own
localstripe on a free port. Most of the time is localstripe's (it pickles its whole store to
/tmp on every write, so it slows down as the run goes), not ours: compare runs on one machine.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from decimal import Decimal

from _setup import ROOT, bench_database, machine

PAYMENTS_PER_THREAD = 25


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    import requests

    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [str(ROOT / ".venv/bin/localstripe"), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{url}/js.stripe.com/v3/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        with bench_database():
            from django.conf import settings

            settings.STRIPE_API_BASE = url
            run()
    finally:
        server.terminate()
        server.wait(timeout=10)


def run() -> None:
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    from payments.services import (
        payment_intent_authorise,
        payment_intent_capture,
        stripe_customer_ensure,
    )
    from payments.stripe_client import stripe_client

    customer_id = stripe_customer_ensure(email="bench@example.fr")
    client = stripe_client()
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    client.v1.payment_methods.attach(pm.id, params={"customer": customer_id})

    def pay() -> None:
        number = uuid.uuid4().hex[:12]
        result = payment_intent_authorise(
            order_number=number,
            amount=Decimal("42.50"),
            customer_id=customer_id,
            payment_method_id=pm.id,
            off_session=True,
        )
        assert result.status == "authorised", result
        payment_intent_capture(order_number=number, payment_intent_id=result.payment_intent_id)

    pay()  # warm-up
    with CaptureQueriesContext(connection) as ctx:
        pay()
    print(f"SQL queries per payment (authorise + capture, no order): {len(ctx.captured_queries)}")

    for threads in (1, 4, 8):
        errors: list[Exception] = []

        def worker(errors: list[Exception] = errors) -> None:
            try:
                for _ in range(PAYMENTS_PER_THREAD):
                    pay()
            except Exception as exc:  # noqa: BLE001 — reported below
                errors.append(exc)
            finally:
                connections.close_all()

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        start = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - start
        done = threads * PAYMENTS_PER_THREAD
        print(
            f"threads={threads}: {done} payments in {elapsed:5.1f} s = "
            f"{done / elapsed:6.1f} authorise+capture/s, errors={len(errors)}"
        )
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
