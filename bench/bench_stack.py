"""The whole stack under load, under a surge, and losing a server or Redis — measured from outside
with locust (bench/locust/locustfile.py), on loopback only, each scenario bounded in time and users.

Run: ``.venv/bin/python bench/bench_stack.py [load] [surge] [faults]`` (all three by default:
about 13 minutes, two of them starting the stack). It starts the native stack (scripts/stack.sh:
nginx, three gunicorn app servers of ``GUNICORN_WORKERS=2``, Celery worker and beat, localstripe)
on free loopback ports (or from ``BENCH_STACK_PORT``) with a database of its own
(``essentiels_bench_stack``, recreated) and a redis-server of its own, and stops it at the end —
unless ``BENCH_STACK_KEEP=1``; a stack left running in ``BENCH_STACK_DIR`` (default
``var/bench-stack``) is reused as it is.

- **load** — ``BENCH_LOAD_USERS`` shoppers (30) for ``BENCH_LOAD_SECONDS`` (60): browse 80 %,
  add to cart 15 %, checkout with payment 5 %. Prints requests/s, p50/p95/p99 and failures per
  endpoint, the error rate, orders created against payments captured, the peak of PostgreSQL
  connections to the stack's database (pg_stat_activity, sampled every 0.25 s) and Celery's
  queue lag (the broker queue's length, sampled, and probe tasks timed from enqueue to done).
- **surge** — the waiting room admitting ``BENCH_SURGE_RATE`` shoppers a minute (120): first
  arrivals at that rate (the unloaded reference), then ten times that rate for
  ``BENCH_SURGE_SECONDS`` (10). One arrival in 20 enters a priority code on the queue page, one
  in 20 signs in as a customer flagged by customer care. Checks: admitted shoppers' p95 within
  2× the unloaded one, no 5xx, every queued shopper admitted, in ticket order, the priority
  lane first (from the room's lanes in Redis, sampled every 0.2 s, and its admission times),
  orders created = payments captured.
- **faults** — app server 2 of 3 SIGKILLed 20 s into a load run: GETs must not fail (nginx
  retries them elsewhere), failed POSTs ≤ the requests in flight on it (its established
  connections just before the kill), no order duplicated or lost. Then the stack's Redis stopped
  for ``BENCH_REDIS_DOWN_SECONDS`` (60) under signed-in shoppers and guests: pages before,
  during and after, whether « Mon compte » still knows who they are, and whether every process
  of the stack is still running afterwards.

Every scenario also checks that each order a shopper saw on a thank-you page exists, that no cart
became two orders, and that each order has exactly one capture of its total; webhook events left
unprocessed are reported.

Figures depend on the machine: this one has 2 cores for the stack, locust and PostgreSQL.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _setup import ROOT, machine
from _stack import Stack, stack_down, stack_up

LOCUSTFILE = ROOT / "bench" / "locust" / "locustfile.py"
# The queue page's refresh (the room's default): surge shoppers poll it this often.
POLL_SECONDS = int(os.environ.get("BENCH_POLL_SECONDS", "20"))
SHOP_PASSWORD = "bench-stack-shopper"  # noqa: S105 — throw-away accounts of the bench database


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


# --- Figures -------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Run:
    """What locust saw: every request [start, name, method, ms, status, failed, stage]."""

    def __init__(self, data: dict, started: float, ended: float):
        self.requests = data["requests"]
        self.checkouts = data["checkouts"]
        self.visits = data["visits"]
        self.started = started
        self.ended = ended

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def shop(self) -> list:
        """The shop's requests (localstripe's, made by « Stripe.js », apart)."""
        return [r for r in self.requests if not r[1].startswith("localstripe")]

    def between(self, start: float, end: float) -> list:
        return [r for r in self.shop() if start <= r[0] < end]


def endpoint_table(requests: list, seconds: float) -> None:
    rows = defaultdict(list)
    for r in requests:
        rows[(r[2], r[1])].append(r)
    print(
        f"  {'endpoint':<44} {'reqs':>6} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'fails':>6}"
    )
    for (method, name), items in sorted(rows.items(), key=lambda kv: -len(kv[1])):
        times = [r[3] for r in items]
        fails = sum(1 for r in items if r[5])
        print(
            f"  {method + ' ' + name:<44} {len(items):>6} {len(items) / seconds:>6.1f} "
            f"{percentile(times, 50):>7.0f} {percentile(times, 95):>7.0f} "
            f"{percentile(times, 99):>7.0f} {fails:>6}"
        )


def totals_line(requests: list, seconds: float) -> str:
    times = [r[3] for r in requests]
    fails = sum(1 for r in requests if r[5])
    server_errors = sum(1 for r in requests if r[4] >= 500)
    return (
        f"{len(requests)} requests, {len(requests) / seconds:.1f} req/s, "
        f"p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms, "
        f"p99 {percentile(times, 99):.0f} ms; failed {fails} "
        f"({100 * fails / max(1, len(requests)):.2f} %), 5xx {server_errors}"
    )


def statuses(requests: list) -> str:
    counts = Counter(r[4] for r in requests if r[5])
    return ", ".join(f"{status or 'no answer'}×{n}" for status, n in sorted(counts.items())) or "—"


# --- Sampling PostgreSQL and Celery during a run --------------------------------------------------


class Sampler(threading.Thread):
    """Connections to the stack's database and Celery's queue, sampled while a scenario runs;
    a probe task every 2 s measures the queue's lag (enqueued → done, the task itself is a
    no-op)."""

    def __init__(self, stack: Stack, interval: float = 0.25):
        super().__init__(daemon=True)
        self.stack = stack
        self.interval = interval
        self.connections: list[int] = []
        self.queue: list[int] = []
        self.probes: list[tuple[float, str]] = []
        self._halt = threading.Event()
        from celery import Celery

        # Sends only (no result backend here: it would subscribe to every probe's result); the
        # worker stores each result in the broker's Redis (CELERY_RESULT_BACKEND), read below.
        self.celery = Celery("bench-probe", broker=stack.config["CELERY_BROKER_URL"])

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._halt.set()
        self.join(timeout=30)

    def run(self) -> None:
        import psycopg2
        import redis

        config = self.stack.config
        queue = redis.Redis.from_url(
            config["CELERY_BROKER_URL"], socket_timeout=1, socket_connect_timeout=1
        )
        database = None
        next_probe = 0.0
        while not self._halt.wait(self.interval):
            try:
                if database is None:
                    database = psycopg2.connect(config["DATABASE_URL"])
                    database.autocommit = True
                with database.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                    self.connections.append(cursor.fetchone()[0])
            except psycopg2.Error:
                database = None
            try:
                self.queue.append(queue.llen("celery"))
            except redis.RedisError:
                pass  # Redis is down (the fault scenario)
            if time.monotonic() >= next_probe:
                next_probe = time.monotonic() + 2
                try:
                    sent = time.time()
                    result = self.celery.send_task("celery.accumulate", args=[0], retry=False)
                    self.probes.append((sent, result.id))
                except Exception:  # noqa: BLE001, S110 — broker down: no probe this time
                    pass
        if database is not None:
            database.close()

    def lags(self, *, settle: float = 10) -> tuple[list[float], int]:
        """Seconds from enqueue to done of each probe, and how many never ran (waits up to
        ``settle`` seconds for the last ones)."""
        import redis

        results = redis.Redis.from_url(self.stack.config["CELERY_BROKER_URL"])
        deadline = time.monotonic() + settle
        while True:
            lags, missing = [], 0
            for sent, task_id in self.probes:
                try:
                    raw = results.get(f"celery-task-meta-{task_id}")
                except redis.RedisError:
                    raw = None
                meta = json.loads(raw) if raw else {}
                if meta.get("status") != "SUCCESS" or not meta.get("date_done"):
                    missing += 1
                    continue
                done = datetime.fromisoformat(meta["date_done"])
                if done.tzinfo is None:
                    done = done.replace(tzinfo=UTC)
                lags.append(max(0.0, done.timestamp() - sent))
            if not missing or time.monotonic() > deadline:
                return lags, missing
            time.sleep(0.5)

    def report(self) -> None:
        if self.connections:
            print(
                f"  PostgreSQL connections to the stack's database: peak {max(self.connections)}, "
                f"mean {statistics.mean(self.connections):.1f} "
                f"({len(self.connections)} samples)"
            )
        lags, missing = self.lags()
        queue = self.queue or [0]
        line = f"  Celery: broker queue peak {max(queue)}, mean {statistics.mean(queue):.2f} tasks"
        if lags:
            line += (
                f"; probe tasks enqueued → done: p50 {1000 * percentile(lags, 50):.0f} ms, "
                f"max {1000 * max(lags):.0f} ms ({len(lags)} probes)"
            )
        if missing:
            line += f"; {missing} probes never ran (lost with Redis or still queued)"
        print(line)


# --- locust ---------------------------------------------------------------------------------------


def run_locust(
    stack: Stack,
    *,
    label: str,
    users: int,
    rate: float,
    seconds: int,
    classes: list[str],
    env: dict[str, str] | None = None,
    during=None,
) -> Run:
    """locust headless against the stack's nginx; ``during(started)`` runs beside it."""
    out = stack.dir / f"locust-{label}.json"
    out.unlink(missing_ok=True)
    log = (stack.dir / f"locust-{label}.log").open("w")
    environ = {
        **os.environ,
        "BENCH_OUT": str(out),
        "BENCH_POLL_SECONDS": str(POLL_SECONDS),
        **(env or {}),
    }
    command = [
        str(ROOT / ".venv/bin/locust"),
        *("-f", str(LOCUSTFILE), "--headless", "--only-summary"),
        *("-u", str(users), "-r", str(rate), "-t", f"{seconds}s", "--stop-timeout", "30"),
        *("--host", stack.url, "--loglevel", "WARNING"),
        *classes,
    ]
    started = time.time()
    process = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    helper = None
    if during is not None:
        helper = threading.Thread(target=during, args=(started,), daemon=True)
        helper.start()
    try:
        process.wait(timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(timeout=60)
    ended = time.time()
    if helper is not None:
        helper.join(timeout=300)
    log.close()
    if not out.exists():
        raise SystemExit(f"locust wrote no results: see {log.name}")
    return Run(json.loads(out.read_text()), started, ended)


# --- The shop's side: orders, payments, accounts, the room --------------------------------------


def watermark() -> dict[str, int]:
    """The last order, Stripe operation and webhook event so far: what comes after is the
    scenario's (the previous one's last orders may still be placed as it ends)."""
    from django.db.models import Max
    from oscar.apps.order.models import Order

    from payments.models import StripeEvent, StripeOperation

    return {
        name: model.objects.aggregate(last=Max("pk"))["last"] or 0
        for name, model in (
            ("order", Order),
            ("operation", StripeOperation),
            ("event", StripeEvent),
        )
    }


def orders_accounting(*, since: dict[str, int], checkouts: list[dict]) -> list[str]:
    """Orders created vs payments captured after ``since`` (a watermark()), against what
    shoppers were shown.
    Prints the figures; returns the problems."""
    from oscar.apps.order.models import Order

    from payments.models import StripeEvent, StripeOperation
    from payments.services.ledger import cents_to_amount

    orders = {
        o["number"]: o
        for o in Order.objects.filter(pk__gt=since["order"]).values(
            "number", "basket_id", "guest_email", "total_incl_tax", "status"
        )
    }
    captures = defaultdict(list)
    for op in StripeOperation.objects.filter(
        kind=StripeOperation.Kind.CAPTURE,
        status=StripeOperation.Status.SUCCEEDED,
        pk__gt=since["operation"],
    ).values("order_number", "response"):
        # The captured PaymentIntent as Stripe returned it: its amount in cents.
        captures[op["order_number"]].append(cents_to_amount(cents=op["response"].get("amount", 0)))
    # Authorised (the card held) but no order: the request died in between; the reconciliation
    # task releases these.
    held = set(
        StripeOperation.objects.filter(
            kind=StripeOperation.Kind.PAYMENT_INTENT,
            status=StripeOperation.Status.SUCCEEDED,
            pk__gt=since["operation"],
        )
        .exclude(order_number__in=orders)
        .values_list("order_number", flat=True)
    )
    placed = [c for c in checkouts if c.get("step") == "done"]
    # Cut short when the run's time was up (locust stops its users mid-action).
    interrupted = [c for c in checkouts if "ended" not in c]
    failed = [c for c in checkouts if c.get("step") != "done" and "ended" in c]
    shown = Counter(c["order"] for c in placed)
    problems = []
    uncaptured = [n for n in orders if not captures.get(n)]
    stray = [n for n in captures if n not in orders]
    wrong = [
        n for n, o in orders.items() if captures.get(n) and sum(captures[n]) != o["total_incl_tax"]
    ]
    twice = [n for n, amounts in captures.items() if len(amounts) > 1]
    lost = [n for n in shown if n not in orders]
    per_cart = Counter(o["basket_id"] for o in orders.values())
    per_email = Counter(o["guest_email"] for o in orders.values() if o["guest_email"])
    duplicates = (
        [n for n, k in shown.items() if k > 1]
        + [f"cart {b}" for b, k in per_cart.items() if k > 1]
        + [e for e, k in per_email.items() if k > 1]
    )
    failed_emails = {c["email"] for c in failed if c.get("email")}
    placed_unseen = [n for n, o in orders.items() if o["guest_email"] in failed_emails]
    print(
        f"  Checkouts: {len(checkouts)} started, {len(placed)} reached the thank-you page, "
        f"{len(failed)} stopped ({dict(Counter(c.get('step') for c in failed)) or '—'}), "
        f"{len(interrupted)} cut short by the end of the run"
    )
    captured = sum(len(amounts) for amounts in captures.values())
    print(
        f"  Orders created: {len(orders)}; payments captured: {captured}"
        f" ({'match' if not (uncaptured or stray or twice) else 'MISMATCH'}); "
        f"orders shown but missing: {len(lost)}; duplicated: {len(duplicates)}; "
        f"placed but the shopper saw an error: {len(placed_unseen)}; "
        f"authorised without an order: {len(held)}"
    )
    events = Counter(
        StripeEvent.objects.filter(pk__gt=since["event"]).values_list("status", flat=True)
    )
    print(
        f"  Stripe webhooks: {sum(events.values())} received — "
        + ", ".join(f"{status} {n}" for status, n in sorted(events.items()))
    )
    if events.get(StripeEvent.Status.RECEIVED):
        problems.append(
            f"{events[StripeEvent.Status.RECEIVED]} Stripe webhook events recorded but never "
            f"processed"
        )
    if uncaptured:
        problems.append(f"orders without a captured payment: {uncaptured[:10]}")
    if stray:
        problems.append(f"captures without an order: {stray[:10]}")
    if wrong:
        problems.append(f"captured amount differs from the order total: {wrong[:10]}")
    if twice:
        problems.append(f"orders captured twice: {twice[:10]}")
    if lost:
        problems.append(f"orders shown on a thank-you page but not in the database: {lost[:10]}")
    if duplicates:
        problems.append(f"duplicated orders: {duplicates[:10]}")
    return problems


def accounts_ensure(*, stack: Stack, prefix: str, count: int, flagged: bool) -> Path:
    """``count`` customer accounts (flagged for the priority lane or not), written to a JSON
    file in the stack's folder for the locustfile."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    password = make_password(SHOP_PASSWORD)
    accounts = []
    for i in range(count):
        email = f"{prefix}-{i}@bench.example"
        user, _created = user_model.objects.get_or_create(
            username=email[:150], defaults={"email": email, "password": password}
        )
        if flagged:
            from waitingroom.priority import priority_shopper_flag

            priority_shopper_flag(user=user, note="bench_stack")
        accounts.append({"email": email, "password": SHOP_PASSWORD, "flagged": flagged})
    path = stack.dir / f"{prefix}.json"
    path.write_text(json.dumps(accounts))
    return path


def shop_prepare() -> None:
    """Ample supply and delivery capacity, so that the runs measure the shop rather than sold-out
    baskets: every scenario's orders add up (the demo's 500 units of each component and 120
    baskets per district and date run short after about a hundred orders). Then one forecast
    refresh, so that no basket stays capped from an earlier run."""
    from delivery.models import DeliveryDate, District
    from essentiels.oscar_forks.partner.models import StockRecord
    from supply.services.forecast import supply_forecast_refresh

    StockRecord.objects.update(num_in_stock=1_000_000)
    District.objects.filter(is_active=True).update(capacity=100_000)
    DeliveryDate.objects.update(capacity=100_000)
    supply_forecast_refresh()


def room_configure(*, enabled: bool, admit_per_minute: int = 120, max_active: int = 10_000):
    """Ops' live settings of the waiting room (saved, then copied into Redis)."""
    try:
        from waitingroom.config import waiting_room_settings_update
    except ImportError:
        return False
    waiting_room_settings_update(
        by=None,
        enabled=enabled,
        admit_per_minute=admit_per_minute,
        max_active=max_active,
        idle_minutes=5,
    )
    return True


def room_reset() -> None:
    """An empty room (nobody active or queued, a full token bucket) before a phase."""
    from waitingroom.store import Keys, client

    client().delete(
        Keys.active, Keys.queue, Keys.priority, Keys.seen, Keys.bucket, Keys.admissions, Keys.stats
    )


def room_enabled_on_stack(stack: Stack) -> bool:
    """Whether the app servers run with WAITING_ROOM_ENABLED (their environment)."""
    try:
        environ = Path(f"/proc/{stack.pid('web1')}/environ").read_bytes().split(b"\0")
    except (FileNotFoundError, ValueError):
        return False
    return b"WAITING_ROOM_ENABLED=true" in environ


# --- Scenarios ------------------------------------------------------------------------------------


def scenario_load(stack: Stack) -> list[str]:
    users = env_int("BENCH_LOAD_USERS", 30)
    seconds = env_int("BENCH_LOAD_SECONDS", 60)
    print(f"\n== load: {users} shoppers for {seconds} s (browse 80 %, add 15 %, checkout 5 %)")
    room_configure(enabled=False)
    since = watermark()
    with Sampler(stack) as sampler:
        run = run_locust(
            stack, label="load", users=users, rate=10, seconds=seconds, classes=["Shopper"]
        )
    shop = run.shop()
    endpoint_table(run.requests, run.seconds)
    print(f"  Shop: {totals_line(shop, run.seconds)}; failures: {statuses(shop)}")
    queue_drain(stack, seconds=15)  # the last webhooks' tasks
    problems = orders_accounting(since=since, checkouts=run.checkouts)
    sampler.report()
    if any(r[5] for r in shop):
        problems.append(f"load: {sum(1 for r in shop if r[5])} failed requests")
    return problems


class LaneSampler(threading.Thread):
    """The room's two lanes and its admissions, read from Redis every 0.2 s (Redis's clock)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.first_seen: dict[tuple[str, str], tuple[int, int]] = {}  # (lane, visitor) → ms, ticket
        self.admitted: dict[str, int] = {}
        self.longest = {"normal": 0, "priority": 0}
        self._halt = threading.Event()

    def __enter__(self) -> LaneSampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._halt.set()
        self.join(timeout=30)
        self._sample()

    def run(self) -> None:
        while not self._halt.wait(0.2):
            self._sample()

    def _sample(self) -> None:
        import redis

        from waitingroom.store import Keys, client

        try:
            # The room's own client (one per process), not a new connection every sample.
            pipe = client().pipeline(transaction=True)
            pipe.time()
            pipe.zrange(Keys.queue, 0, -1, withscores=True)
            pipe.zrange(Keys.priority, 0, -1, withscores=True)
            pipe.zrange(Keys.admissions, 0, -1, withscores=True)
            (seconds, micros), normal, priority, admissions = pipe.execute()
        except redis.RedisError:
            return
        now = seconds * 1000 + micros // 1000
        for lane, members in (("normal", normal), ("priority", priority)):
            self.longest[lane] = max(self.longest[lane], len(members))
            for member, ticket in members:
                self.first_seen.setdefault((lane, member.decode()), (now, int(ticket)))
        for member, at in admissions:
            self.admitted[member.decode()] = int(at)

    def order_problems(self, *, priority: dict[str, float]) -> tuple[int, int, int]:
        """(normal-lane pairs admitted out of ticket order, priority-lane pairs out of order,
        normal admissions while a priority visitor was already waiting).

        ``priority``: the visitors who entered a code or signed in as flagged customers → when
        they were in the priority lane for sure (epoch seconds). They first queue in the normal
        lane, and are let in too fast for the sampling to see them in the priority lane often.
        """
        normal, in_priority = [], []
        for (lane, visitor), (_seen, ticket) in self.first_seen.items():
            if visitor not in self.admitted:
                continue
            if lane == "normal" and visitor not in priority:
                normal.append((self.admitted[visitor], ticket))
            elif lane == "priority":
                in_priority.append((self.admitted[visitor], ticket))

        def inversions(items) -> int:
            return sum(
                1
                for i, (at_a, ticket_a) in enumerate(items)
                for at_b, ticket_b in items[i + 1 :]
                if (ticket_a < ticket_b and at_a > at_b) or (ticket_b < ticket_a and at_b > at_a)
            )

        overtaken = sum(
            1
            for at_n, _ in normal
            for visitor, since in priority.items()
            if visitor in self.admitted and since * 1000 <= at_n < self.admitted[visitor]
        )
        return inversions(normal), inversions(in_priority), overtaken


def visitors_of(visits: list[dict]) -> dict[int, str]:
    """Visit index → the room's visitor id, read from the signed cookie with the stack's key."""
    from waitingroom.tokens import token_loads

    found = {}
    for visit in visits:
        token = token_loads(visit.get("cookie"))
        if token is not None:
            found[visit["index"]] = token.visitor
    return found


def scenario_surge(stack: Stack) -> list[str]:
    try:
        import waitingroom  # noqa: F401
    except ImportError:
        print("\n== surge: skipped (no waiting room in this code)")
        return []
    if not room_enabled_on_stack(stack):
        print("\n== surge: skipped (the stack runs without WAITING_ROOM_ENABLED=true)")
        return []
    rate = env_int("BENCH_SURGE_RATE", 120)
    surge_seconds = env_int("BENCH_SURGE_SECONDS", 10)
    base_seconds = env_int("BENCH_SURGE_BASE_SECONDS", 30)
    per_second = rate / 60
    base_users = max(1, round(per_second * base_seconds))
    surge_users = max(1, round(10 * per_second * surge_seconds))
    every = env_int("BENCH_PRIORITY_EVERY", 20)
    print(
        f"\n== surge: the room admits {rate}/min; {base_users} arrivals at that rate "
        f"(unloaded), then {surge_users} at 10× ({10 * per_second:.0f}/s for {surge_seconds} s); "
        f"1 in {every} uses a priority code, 1 in {every} is flagged"
    )
    from django.utils import timezone

    from waitingroom.priority import priority_code_create

    code = priority_code_create(
        label="bench_stack surge",
        max_uses=2 * (base_users + surge_users) // every + 4,
        expires_at=timezone.now() + timedelta(hours=1),
    ).plain
    flagged = accounts_ensure(
        stack=stack,
        prefix="bench-flagged",
        count=(base_users + surge_users) // every + 2,
        flagged=True,
    )
    env = {
        "BENCH_PRIORITY_CODE": code,
        "BENCH_ACCOUNTS": str(flagged),
        "BENCH_PRIORITY_EVERY": str(every),
        "BENCH_THINK": os.environ.get("BENCH_THINK", "0.5,2"),
    }
    room_configure(enabled=True, admit_per_minute=rate)

    room_reset()
    since = watermark()
    base = run_locust(
        stack,
        label="surge-base",
        users=base_users,
        rate=per_second,
        seconds=base_seconds + 90,
        classes=["SurgeShopper"],
        env={**env, "BENCH_SURGE_USERS": str(base_users)},
    )
    base_admitted = [r for r in base.shop() if r[6] == "admitted"]
    base_p95 = percentile([r[3] for r in base_admitted], 95)
    queued_base = sum(1 for v in base.visits if v["queued"])
    print(
        f"  Unloaded: {len(base.visits)} shoppers, {queued_base} queued; admitted shoppers' "
        f"requests: {totals_line(base_admitted, base.seconds)}"
    )

    room_reset()
    deadline = surge_seconds + math.ceil(surge_users / per_second) + 120
    with Sampler(stack) as sampler, LaneSampler() as lanes:
        surge = run_locust(
            stack,
            label="surge",
            users=surge_users,
            rate=10 * per_second,
            seconds=deadline,
            classes=["SurgeShopper"],
            env={
                **env,
                "BENCH_SURGE_USERS": str(surge_users),
                "BENCH_QUEUE_DEADLINE": str(deadline - 30),
            },
        )
    shop = surge.shop()
    admitted_requests = [r for r in shop if r[6] == "admitted"]
    surge_p95 = percentile([r[3] for r in admitted_requests], 95)
    server_errors = [r for r in surge.requests if r[4] >= 500]
    visits = surge.visits
    queued = [v for v in visits if v["queued"]]
    never = [v for v in visits if not v["ok"]]
    waits = defaultdict(list)
    for v in queued:
        if v["admitted"]:
            waits["priority" if v["lane"] != "normal" else "normal"].append(
                v["admitted"] - v["arrived"]
            )
    endpoint_table(surge.requests, surge.seconds)
    print(f"  Whole surge run: {totals_line(shop, surge.seconds)}; failures: {statuses(shop)}")
    print(
        f"  Admitted shoppers' requests: {totals_line(admitted_requests, surge.seconds)}; "
        f"p95 {surge_p95:.0f} ms against {base_p95:.0f} ms unloaded "
        f"(×{surge_p95 / base_p95:.2f}, target ≤ ×2)"
    )
    print(
        f"  Shoppers: {len(visits)} arrived, {len(queued)} queued, "
        f"{len(visits) - len(never)} completed their visit, {len(never)} did not "
        f"({Counter(v.get('error', '?')[:60] for v in never).most_common(3) or '—'}); "
        f"longest lanes: normal {lanes.longest['normal']}, priority {lanes.longest['priority']}"
    )
    for lane, values in sorted(waits.items()):
        print(
            f"  Wait in the {lane} lane: median {statistics.median(values):.1f} s, "
            f"max {max(values):.1f} s ({len(values)} shoppers)"
        )
    first, last = min(lanes.admitted.values(), default=0), max(lanes.admitted.values(), default=0)
    if last > first:
        observed = (len(lanes.admitted) - 1) / ((last - first) / 60000)
        print(
            f"  Admissions: {len(lanes.admitted)} over {(last - first) / 1000:.0f} s "
            f"({observed:.0f}/min including the burst allowance; configured {rate}/min)"
        )
    (stack.dir / "surge-lanes.json").write_text(
        json.dumps(
            {
                "first_seen": [[lane, v, *seen] for (lane, v), seen in lanes.first_seen.items()],
                "admitted": lanes.admitted,
            }
        )
    )
    mapped = visitors_of(visits)
    priority = {
        mapped[v["index"]]: v.get("priority_at") or v["arrived"]
        for v in visits
        if v["lane"] != "normal" and v["index"] in mapped
    }
    normal_out, priority_out, overtaken = lanes.order_problems(priority=priority)
    unknown = [v for v in queued if v["index"] not in mapped]
    print(
        f"  Order: normal lane {normal_out} pairs out of ticket order, priority lane "
        f"{priority_out}; normal shoppers admitted while a priority shopper waited: {overtaken} "
        f"({len(lanes.first_seen)} places seen in the lanes, {len(lanes.admitted)} admissions; "
        f"{len(unknown)} queued shoppers without a readable token)"
    )
    queue_drain(stack, seconds=15)  # the last webhooks' tasks
    problems = orders_accounting(since=since, checkouts=base.checkouts + surge.checkouts)
    sampler.report()
    if server_errors:
        problems.append(f"surge: {len(server_errors)} 5xx ({statuses(server_errors)})")
    if never:
        problems.append(f"surge: {len(never)} shoppers never completed their visit")
    if surge_p95 > 2 * base_p95:
        problems.append(f"surge: admitted p95 ×{surge_p95 / base_p95:.2f} of unloaded (target ≤ 2)")
    if normal_out or priority_out or overtaken:
        problems.append("surge: admissions out of order")
    room_configure(enabled=False)
    return problems


def in_flight(port: int) -> int:
    """Established TCP connections to ``port`` on this machine (nginx keeps none idle to its
    app servers: each is a request being served, or waiting in the listen backlog)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                count += 1
    return count


def scenario_kill(stack: Stack) -> list[str]:
    users = env_int("BENCH_LOAD_USERS", 30)
    seconds = env_int("BENCH_FAULT_SECONDS", 60)
    kill_at, revive_at = 20, 40
    print(
        f"\n== fault: app server 2 of 3 SIGKILLed at {kill_at} s of a {seconds} s load run "
        f"({users} shoppers), started again at {revive_at} s"
    )
    room_configure(enabled=False)
    events: dict[str, float | int] = {}
    port = stack.app_ports[1]

    def fault(started: float) -> None:
        sleep_until(started + kill_at)
        events["in_flight"] = in_flight(port)
        stack.kill("web2")
        events["killed"] = time.time()
        sleep_until(started + revive_at)
        stack.revive()
        events["revived"] = time.time()

    since = watermark()
    with Sampler(stack) as sampler:
        run = run_locust(
            stack,
            label="kill",
            users=users,
            rate=10,
            seconds=seconds,
            classes=["Shopper"],
            during=fault,
        )
    shop = run.shop()
    gets = [r for r in shop if r[2] == "GET"]
    posts = [r for r in shop if r[2] == "POST"]
    failed_gets = [r for r in gets if r[5]]
    failed_posts = [r for r in posts if r[5]]
    killed = events.get("killed", 0)
    print(f"  Shop: {totals_line(shop, run.seconds)}")
    print(
        f"  At the kill: {events.get('in_flight', '?')} requests in flight on server 2; "
        f"failed GETs: {len(failed_gets)} ({statuses(failed_gets)}); failed POSTs: "
        f"{len(failed_posts)} ({statuses(failed_posts)}; "
        f"{', '.join(sorted({r[1] for r in failed_posts})) or '—'})"
    )
    around = run.between(killed - 5, killed + 15)
    print(f"  From 5 s before to 15 s after the kill: {totals_line(around, 20)}")
    if "revived" in events:
        print(f"  Server 2 answered again {events['revived'] - killed:.1f} s after the kill")
    queue_drain(stack, seconds=15)  # the last webhooks' tasks
    problems = orders_accounting(since=since, checkouts=run.checkouts)
    sampler.report()
    if failed_gets:
        problems.append(f"kill: {len(failed_gets)} GETs failed")
    if len(failed_posts) > int(events.get("in_flight", 0)):
        problems.append(
            f"kill: {len(failed_posts)} POSTs failed, more than the "
            f"{events.get('in_flight')} requests in flight"
        )
    return problems


def scenario_redis(stack: Stack) -> list[str]:
    down = env_int("BENCH_REDIS_DOWN_SECONDS", 60)
    before, after = 20, 40
    seconds = before + down + after
    users = env_int("BENCH_REDIS_USERS", 24)
    print(
        f"\n== fault: the stack's Redis stopped for {down} s ({before} s into a {seconds} s run; "
        f"{users} shoppers, two signed in for one guest)"
    )
    room_configure(enabled=False)
    accounts = accounts_ensure(stack=stack, prefix="bench-signed-in", count=users, flagged=False)
    events: dict[str, float] = {}

    def fault(started: float) -> None:
        sleep_until(started + before)
        stack.redis.stop()
        events["stopped"] = time.time()
        sleep_until(events["stopped"] + down)
        stack.redis.start()
        events["started"] = time.time()

    since = watermark()
    with Sampler(stack) as sampler:
        run = run_locust(
            stack,
            label="redis",
            users=users,
            rate=10,
            seconds=seconds,
            classes=["SignedInShopper", "Shopper"],
            env={"BENCH_ACCOUNTS": str(accounts), "BENCH_WEIGHTS": "SignedInShopper=2,Shopper=1"},
            during=fault,
        )
    stopped, restarted = events.get("stopped", run.ended), events.get("started", run.ended)
    problems = []
    missing = [
        line.split()[0] for line in stack.script("status").stdout.splitlines() if " stopped" in line
    ]
    if missing:
        # The native stack supervises only Celery (scripts/respawn.sh): a server, nginx or
        # localstripe that exited stays down; say so, then bring it back.
        problems.append(f"redis: {', '.join(missing)} exited while Redis was down")
        print(f"  After Redis came back: {', '.join(missing)} had exited (started again)")
        stack.revive()
    queue_drain(stack)
    webhooks_swept(since=since)
    for label, start, end in (
        ("before", run.started, stopped),
        ("Redis down", stopped, restarted),
        ("after", restarted, run.ended),
    ):
        window = run.between(start, end)
        checks = [r for r in window if r[1].endswith("(signed in?)")]
        signed_out = [r for r in checks if r[4] == 302]
        print(f"  {label:<10} {totals_line(window, max(1.0, end - start))}")
        print(
            f"  {'':<10} « Mon compte » checks: {len(checks)}, signed out: {len(signed_out)}; "
            f"failures: {statuses(window)}"
        )
        if label == "Redis down":
            if signed_out:
                problems.append(f"redis: {len(signed_out)} signed-in shoppers were signed out")
            if [r for r in window if r[4] >= 500 or (r[5] and not r[1].startswith("/checkout"))]:
                problems.append("redis: pages failed while Redis was down")
    problems += orders_accounting(since=since, checkouts=run.checkouts)
    sampler.report()
    return problems


def webhooks_swept(*, since: dict, seconds: float = 210) -> None:
    """Wait for the beat's sweeper (every minute, events received over 2 minutes ago) to process
    the webhook events whose task could not be queued or was lost with Redis, and say how long
    it took; what is still unprocessed afterwards counts as lost (orders_accounting)."""
    from payments.models import StripeEvent

    waiting = StripeEvent.objects.filter(pk__gt=since["event"], status=StripeEvent.Status.RECEIVED)
    left = waiting.count()
    if not left:
        return
    start = time.monotonic()
    while waiting.exists() and time.monotonic() - start < seconds:
        time.sleep(2)
    print(
        f"  Webhook events left waiting by the outage: {left}; still waiting "
        f"{waiting.count()} after {time.monotonic() - start:.0f} s of the sweeper"
    )


def queue_drain(stack: Stack, *, seconds: float = 60) -> None:
    """Wait (a while) for the Celery queue to empty: what is still unprocessed then was lost."""
    import redis

    queue = redis.Redis.from_url(stack.config["CELERY_BROKER_URL"])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not queue.llen("celery"):
                break
        except redis.RedisError:
            pass
        time.sleep(1)
    time.sleep(2)  # the last tasks taken finish


SCENARIOS = {
    "load": [scenario_load],
    "surge": [scenario_surge],
    "faults": [scenario_kill, scenario_redis],
}


def main() -> None:
    chosen = sys.argv[1:] or list(SCENARIOS)
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario {unknown}: choose among {', '.join(SCENARIOS)}")
    directory = Path(os.environ.get("BENCH_STACK_DIR", ROOT / "var" / "bench-stack"))
    stack = stack_up(
        directory=directory,
        extra_env={
            "WAITING_ROOM_ENABLED": "true",
            "WAITING_ROOM_REFRESH_SECONDS": str(POLL_SECONDS),
        },
    )
    problems = []
    django_ready = False
    try:
        stack.django_environ()
        import django

        django.setup()
        django_ready = True
        shop_prepare()
        for name in chosen:
            for scenario in SCENARIOS[name]:
                problems += scenario(stack)
    finally:
        if django_ready:
            from django.db import connections

            connections.close_all()  # or the database could not be dropped
        if os.environ.get("BENCH_STACK_KEEP") != "1":
            stack_down(stack)
    print(
        f"\nStack: nginx + 3 gunicorn servers × {os.environ.get('GUNICORN_WORKERS', '2')} sync "
        f"workers + Celery worker and beat + localstripe (in memory) + PostgreSQL + Redis, and "
        f"locust, on one machine: {machine()}"
    )
    if problems:
        print("Targets missed:\n  - " + "\n  - ".join(problems))
        raise SystemExit(1)
    print("Every target met.")


if __name__ == "__main__":
    main()
