"""Checkout throughput: orders placed per second end-to-end through Oscar's checkout, paid
against localstripe, with 1, 4 and 8 concurrent guest shoppers; SQL queries per placed order.

Run: `.venv/bin/python bench/bench_checkout.py`. Needs PostgreSQL and Redis; starts its own
localstripe on a free port. Each shopper is a thread with its own test ``Client`` (own session
and cart) and email, and goes through the whole journey for every order: add a basket to the
cart, guest checkout, Paris 13e address, shipping method, preview, place the order (authorise,
commit the order and its delivery booking, capture), thank-you page.

The shoppers of a run place their orders together: all reach the preview, then all post
``place_order`` at once, and the wall time of that step is what "orders/s" divides by. The
journey time is a shopper's own time per order (every step, barrier waits excluded). As in
bench_payments, much of the time is localstripe's (it pickles its whole store on every write).
"""

from __future__ import annotations

import io
import logging
import os
import socket
import statistics
import subprocess
import threading
import time
import uuid

from _setup import ROOT, bench_database, machine

# Our own cache keys: benchmarks running at the same time share Redis, not their databases.
os.environ.setdefault("CACHE_KEY_PREFIX", f"essentiels-bench-checkout-{uuid.uuid4().hex[:8]}")

ORDERS_PER_SHOPPER = 10
SHOPPERS = (1, 4, 8)
BARRIER_TIMEOUT = 300  # seconds: a stuck shopper ends the run instead of hanging it

ADDRESS = {
    "first_name": "Camille",
    "last_name": "Martin",
    "line1": "12 rue de Tolbiac",
    "line4": "Paris",
    "postcode": "75013",
    "country": "FR",
    "phone_number": "",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_database_busy() -> bool:
    """Whether another benchmark is using ``<db>_bench`` (bench_database would drop it)."""
    import django

    django.setup()
    from django.db import connection

    name = f"{connection.settings_dict['NAME']}_bench"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name])
        (sessions,) = cursor.fetchone()
    connection.close()
    return sessions > 0


def main() -> None:
    import requests

    if bench_database_busy():
        raise SystemExit("The benchmark database is in use by another benchmark: retry later.")
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 — our own venv's binary
        [str(ROOT / ".venv/bin/localstripe"), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                requests.get(f"{url}/js.stripe.com/v3/", timeout=1)
                break
            except requests.ConnectionError:
                if server.poll() is not None:
                    raise SystemExit(f"localstripe did not start on port {port}") from None
                time.sleep(0.1)
        else:
            raise SystemExit(f"localstripe did not answer on port {port}")
        with bench_database():
            from django.conf import settings
            from django.core.cache import cache

            settings.STRIPE_API_BASE = url
            settings.STRIPE_SECRET_KEY = "sk_test_bench"  # noqa: S105 — localstripe's
            try:
                run()
            finally:
                cache.delete_pattern("*")  # this run's prefix only
    finally:
        server.terminate()
        server.wait(timeout=10)


class Shopper:
    """A guest with a browser of their own (a test Client) and a card saved on Stripe."""

    def __init__(self, email: str, product_pk: int) -> None:
        from django.test import Client

        from payments.services.customers import stripe_customer_ensure
        from payments.stripe_client import stripe_client

        self.email = email
        self.product_pk = product_pk
        self.client = Client()
        # What the browser's confirmCardSetup leaves: a card attached to the shopper's Customer.
        customer_id = stripe_customer_ensure(email=email)
        method = stripe_client().v1.payment_methods.create(
            params={
                "type": "card",
                "card": {
                    "number": "4242424242424242",
                    "exp_month": 12,
                    "exp_year": 2030,
                    "cvc": "123",
                },
            }
        )
        stripe_client().v1.payment_methods.attach(method.id, params={"customer": customer_id})
        self.payment_method_id = method.id

    def _expect(self, response, status: int, step: str) -> None:
        if response.status_code != status:
            raise AssertionError(
                f"{self.email} {step}: HTTP {response.status_code}, expected {status}: "
                f"{response.content.decode(errors='replace')[:500]}"
            )

    def to_preview(self) -> None:
        """Cart to the preview page: everything before placing the order."""
        from django.urls import reverse

        client = self.client
        response = client.post(
            reverse("basket:add", kwargs={"pk": self.product_pk}), {"quantity": 1}
        )
        self._expect(response, 302, "basket:add")
        response = client.post(
            reverse("checkout:index"), {"username": self.email, "options": "anonymous"}
        )
        self._expect(response, 302, "checkout:index")
        response = client.post(reverse("checkout:shipping-address"), ADDRESS)
        self._expect(response, 302, "checkout:shipping-address")
        self._expect(client.get(reverse("checkout:shipping-method")), 302, "shipping-method")
        self._expect(client.get(reverse("checkout:preview")), 200, "checkout:preview")

    def place_order(self):
        from django.urls import reverse

        response = self.client.post(
            reverse("checkout:preview"),
            {"action": "place_order", "payment_method_id": self.payment_method_id},
        )
        self._expect(response, 302, "place_order")
        if response["Location"] != reverse("checkout:thank-you"):
            raise AssertionError(
                f"{self.email} place_order: redirected to {response['Location']}, "
                f"not the thank-you page"
            )
        return response

    def thank_you(self, response) -> None:
        self._expect(self.client.get(response["Location"]), 200, "thank-you")


def shoppers_run(count: int, product_pk: int) -> tuple[float, list[float]]:
    """``count`` shoppers placing ORDERS_PER_SHOPPER orders each, every round together.

    Returns the wall time of the place_order steps and each order's journey time (seconds).
    """
    from django.db import connections

    placing = [0.0]  # wall seconds spent in the place_order step, summed over rounds
    round_start = [0.0]

    def mark_start() -> None:
        round_start[0] = time.perf_counter()

    def mark_end() -> None:
        placing[0] += time.perf_counter() - round_start[0]

    ready = threading.Barrier(count, action=mark_start, timeout=BARRIER_TIMEOUT)
    done = threading.Barrier(count, action=mark_end, timeout=BARRIER_TIMEOUT)
    journeys: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    run_id = uuid.uuid4().hex[:6]

    def worker(index: int) -> None:
        try:
            shopper = Shopper(f"shopper-{count}-{index}-{run_id}@example.fr", product_pk)
            for _ in range(ORDERS_PER_SHOPPER):
                start = time.perf_counter()
                shopper.to_preview()
                before = time.perf_counter() - start
                ready.wait()
                start = time.perf_counter()
                response = shopper.place_order()
                placed = time.perf_counter() - start
                done.wait()
                start = time.perf_counter()
                shopper.thank_you(response)
                after = time.perf_counter() - start
                with lock:
                    journeys.append(before + placed + after)
        except threading.BrokenBarrierError:
            pass  # another shopper failed: its error is the one reported
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            with lock:
                errors.append(exc)
            ready.abort()
            done.abort()
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise SystemExit(f"{count} shoppers: {len(errors)} failed; first: {errors[0]!r}")
    return placing[0], journeys


def queries_per_order(product_pk: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    shopper = Shopper(f"queries-{uuid.uuid4().hex[:6]}@example.fr", product_pk)
    shopper.to_preview()
    shopper.thank_you(shopper.place_order())  # warm-up: first customer, first delivery date
    shopper.to_preview()
    with CaptureQueriesContext(connection) as ctx:
        response = shopper.place_order()
    # Read now: the next request's request_started signal resets the query log.
    queries = len(ctx.captured_queries)
    shopper.thank_you(response)
    return queries


def run() -> None:
    from django.core.management import call_command
    from oscar.apps.order.models import Order

    from baskets.models import BasketVariant
    from delivery.models import District

    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    # Every order logs a dozen INFO lines (Stripe requests, ledger, Oscar): keep the table readable.
    logging.disable(logging.INFO)
    # Bookings must never run out: the demo's 120 baskets per date would stop the run.
    District.objects.update(capacity=100_000)
    variant = BasketVariant.objects.filter(product__is_public=True).select_related("product")
    product = variant.order_by("pk").first().product

    placed = 2
    queries = queries_per_order(product.pk)

    rows = []
    for count in SHOPPERS:
        placing, journeys = shoppers_run(count, product.pk)
        orders = count * ORDERS_PER_SHOPPER
        placed += orders
        rows.append((count, orders, placing, orders / placing, statistics.mean(journeys) * 1000))

    problems = []
    total = Order.objects.count()
    if total != placed:
        problems.append(f"{total} orders in the database for {placed} placements")
    for order in Order.objects.prefetch_related("sources"):
        sources = list(order.sources.all())
        if len(sources) != 1 or sources[0].amount_debited != order.total_incl_tax:
            debited = [source.amount_debited for source in sources]
            problems.append(f"order {order.number}: {order.total_incl_tax} due, captured {debited}")
    if problems:
        raise SystemExit("Checkout benchmark failed: " + "; ".join(problems[:10]))

    print(f"{'shoppers':>8} {'orders':>6} {'seconds':>8} {'orders/s':>9} {'ms/journey':>11}")
    for count, orders, seconds, rate, journey_ms in rows:
        print(f"{count:8d} {orders:6d} {seconds:8.2f} {rate:9.2f} {journey_ms:11.1f}")
    print("(seconds and orders/s: the place_order step only; ms/journey: every step per order)")
    print(f"SQL queries per placed order: {queries}")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
