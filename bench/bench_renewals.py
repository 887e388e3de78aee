"""Weekly renewals at a cutoff: 10,000 subscriptions renewed by real Celery workers (1, then 2)
through Redis, each an Oscar order + delivery booking + off-session charge and capture against
localstripe; renewals per second, SQL queries per renewal, workers' peak memory.

Run: `.venv/bin/python bench/bench_renewals.py` (or `make bench`). `RENEWALS=2000` for a
shorter run. Needs PostgreSQL and Redis; creates its own database (`<db>_bench`), uses Redis
databases 14/15, and starts its own localstripe (without the per-write pickle, see
bench/localstripe_memory.py) and workers (`--pool=solo`, one process each).

How it runs, as in production: the dispatcher writes the outbox and enqueues one task per
subscription in chunks of 1,000; workers take tasks from Redis; the run ends when every outbox
row is done. Both runs renew the same delivery date for two separate sets of subscriptions.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from datetime import date, datetime

from _setup import ROOT, bench_database, machine

RENEWALS = int(os.environ.get("RENEWALS", "10000"))
REDIS_DB = 14
QUERY_SAMPLE = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str) -> None:
    import requests

    for _ in range(200):
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def main() -> None:
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
    port = free_port()
    stripe = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            str(ROOT / "bench/localstripe_memory.py"),
            "--port",
            str(port),
            "--from-scratch",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    os.environ["STRIPE_API_BASE"] = url
    try:
        wait_http(f"{url}/js.stripe.com/v3/")
        with bench_database():
            from django.conf import settings

            settings.STRIPE_API_BASE = url
            run(url)
    finally:
        stripe.terminate()
        stripe.wait(timeout=10)


def setup_subscriptions(count: int) -> tuple[date, list[int], list[int]]:
    """Two sets of ``count`` subscriptions, delivered on a date whose cutoff has passed (the
    second set paused for now), spread over every district delivering that weekday."""
    from django.core.management import call_command

    from baskets.models import BasketSubscription, BasketVariant, SubscriptionStatus
    from baskets.services.renewal import renewal_dates_due
    from delivery.calendar import PARIS, is_public_holiday
    from delivery.models import District, Postcode
    from essentiels.oscar_forks.partner.models import StockRecord
    from payments.services import stripe_customer_ensure
    from payments.stripe_client import stripe_client

    call_command("load_demo", verbosity=0)
    day = next(d for d in renewal_dates_due() if not is_public_holiday(d))
    # Every demo district delivers on that weekday now, with room for everyone.
    District.objects.filter(is_active=True).update(
        weekday=day.weekday(), capacity=2 * count, opens_on=None
    )
    districts = list(District.objects.filter(is_active=True))
    postcodes = {
        district_id: code
        for district_id, code in Postcode.objects.filter(district__in=districts)
        .order_by("-code")
        .values_list("district_id", "code")
    }
    variants = [
        v
        for v in BasketVariant.objects.select_related("product").order_by("pk")
        if v.is_valid and StockRecord.objects.filter(product=v.product).exists()
    ]
    api = stripe_client()
    cards = []
    for n in range(50):  # 50 shoppers' cards, shared round-robin: charges are what we measure
        customer = stripe_customer_ensure(email=f"bench{n}@example.fr")
        pm = api.v1.payment_methods.create(
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
        api.v1.payment_methods.attach(pm.id, params={"customer": customer})
        cards.append((customer, pm.id))
    from oscar.apps.address.models import Country
    from oscar.test.factories import UserFactory

    Country.objects.get_or_create(
        iso_3166_1_a2="FR", defaults={"printable_name": "France", "name": "France"}
    )
    users = [UserFactory() for _ in range(200)]
    long_ago = datetime(2020, 1, 1, tzinfo=PARIS)
    sets = []
    for paused in (False, True):
        rows = []
        for n in range(count):
            d = districts[n % len(districts)]
            customer, pm = cards[n % len(cards)]
            rows.append(
                BasketSubscription(
                    user=users[n % len(users)],
                    variant=variants[n % len(variants)],
                    quantity=1,
                    first_name="Léa",
                    last_name=f"Bench {n}",
                    line1=f"{n} rue du Banc",
                    line4=d.name,
                    postcode=postcodes.get(d.pk, "75013"),
                    country_id="FR",
                    district=d,
                    starts_on=day,
                    stripe_customer_id=customer,
                    stripe_payment_method_id=pm,
                    status=SubscriptionStatus.PAUSED if paused else SubscriptionStatus.ACTIVE,
                    paused_until=date(2100, 1, 1) if paused else None,
                    paused_at=long_ago if paused else None,
                )
            )
        created = BasketSubscription.objects.bulk_create(rows, batch_size=2000)
        sets.append([s.pk for s in created])
    return day, sets[0], sets[1]


def start_workers(n: int) -> list[subprocess.Popen]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "essentiels.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "LOG_LEVEL": "WARNING",
    }
    return [
        subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "essentiels",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
                f"--hostname=bench{i}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def renew_with_workers(
    workers: int, day: date, subscription_ids: list[int]
) -> tuple[float, int, list[float], dict]:
    from collections import Counter

    from baskets.models import RenewalOutbox, SubscriptionRenewal
    from baskets.services.renewal import renewals_dispatch
    from baskets.tasks import _enqueue_renewal

    processes = start_workers(workers)
    try:
        time.sleep(3)  # let them connect to Redis
        start = time.perf_counter()
        written = renewals_dispatch(enqueue=_enqueue_renewal)
        while RenewalOutbox.objects.filter(delivery_date=day, done_at__isnull=True).exists():
            if any(p.poll() is not None for p in processes):
                raise SystemExit("a worker died")
            time.sleep(0.5)
        elapsed = time.perf_counter() - start
        peaks = [peak_rss_mib(p.pid) for p in processes]
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=60)
    statuses = Counter(
        SubscriptionRenewal.objects.filter(
            delivery_date=day, subscription_id__in=subscription_ids
        ).values_list("status", flat=True)
    )
    return elapsed, written, peaks, dict(statuses)


def queries_per_renewal(day: date, subscription_ids: list[int]) -> float:
    """In this process, for a sample: every query of one renewal (order, booking, ledger)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from baskets.services.renewal import subscription_renew

    total = 0
    for pk in subscription_ids[:QUERY_SAMPLE]:
        with CaptureQueriesContext(connection) as ctx:
            renewal = subscription_renew(subscription_id=pk, delivery_date=day)
        assert renewal is not None
        assert renewal.status == "paid", renewal
        total += len(ctx.captured_queries)
    return total / QUERY_SAMPLE


def run(url: str) -> None:
    import redis
    from django.conf import settings
    from oscar.apps.order.models import Order

    from baskets.models import BasketSubscription, SubscriptionStatus
    from payments.models import StripeOperation

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    t0 = time.perf_counter()
    day, first, second = setup_subscriptions(RENEWALS)
    print(f"machine: {machine()}")
    print(
        f"set-up: {2 * RENEWALS} subscriptions over {day:%A %d %B %Y} "
        f"in {time.perf_counter() - t0:.0f} s"
    )
    queries = queries_per_renewal(day, first)
    print(f"SQL queries per renewal (order + booking + ledger + capture): {queries:.1f}")
    results = []
    for workers, ids in ((1, first), (2, second)):
        BasketSubscription.objects.filter(pk__in=ids).update(
            status=SubscriptionStatus.ACTIVE, paused_until=None, paused_at=None
        )
        elapsed, written, peaks, statuses = renew_with_workers(workers, day, ids)
        renewed = statuses.get("paid", 0) - (QUERY_SAMPLE if workers == 1 else 0)
        rate = written / elapsed
        results.append(rate)
        print(
            f"{workers} worker(s): {written} renewals in {elapsed:.1f} s = {rate:.1f}/s; "
            f"outcomes {statuses}; peak RSS per worker {', '.join(f'{p:.0f}' for p in peaks)} MiB"
        )
        assert renewed == written, (renewed, written)
    orders = Order.objects.count()
    captures = StripeOperation.objects.filter(kind=StripeOperation.Kind.CAPTURE).count()
    print(f"orders {orders}, captures {captures} (must match)")
    assert orders == captures == 2 * RENEWALS
    print(f"speed-up with 2 workers: ×{results[1] / results[0]:.2f}")
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench process (dispatcher) peak RSS {own_peak:.0f} MiB")


if __name__ == "__main__":
    main()
