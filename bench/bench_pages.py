"""Page throughput through gunicorn: requests/s of a Django hello-world view and of the basket
list and a basket page (60 baskets) as each kind of visitor gets them; SQL queries per page;
each page's ratio to hello-world.

The pages (baskets.page_cache): an anonymous visitor with nothing of their own gets the *page*
from the cache; a shopper with a cart (or logged in) gets the cached *shell* with their own
parts rendered into it (not served from the page cache: their cart, account, messages); and the
*cold render* is the page rendered from scratch, as after a change (page cache off).

Run: `.venv/bin/python bench/bench_pages.py` (needs PostgreSQL, Redis and `wrk`: apt-get install
wrk). Builds 60 themed baskets (3 household sizes, 40 components each) in its own throw-away
database, then starts two gunicorn servers on loopback with the production settings
(bench/pages_settings.py: plain HTTP, and /bench/hello mounted) and deploy/gunicorn.conf.py with
2 sync workers (bench/pages_gunicorn.conf.py: no worker recycling, no access log). The first
server caches pages as in production; the second has the page cache off
(STOREFRONT_*_CACHE_SECONDS=0). Requests come from `wrk` (1 thread, BENCH_CONNECTIONS
connections, 4 by default: two per worker), without cookies (anonymous) or with the cookies of
a shopper with one basket in their cart, or of a logged-in shopper with an empty cart, for
BENCH_SECONDS (10) per run; the pages are measured in turn, BENCH_ROUNDS (3) times, and the
median run counts (BENCH_PAGES="list, cold render;page, cold render" measures only those, beside
hello-world). The load generator shares the 2 cores: its CPU time is printed.

Targets ([Surges]): cached list ≥ 50 % of hello-world; uncached list and basket page ≥ 10 %
with a constant, small number of SQL queries (bench_baskets.py and tests/baskets count them for
10, 60 and 200 baskets).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
import uuid

from _setup import ROOT, bench_database, machine

# Our own cache keys: benchmarks running at the same time share Redis, not their databases.
PREFIX = f"essentiels-bench-pages-{uuid.uuid4().hex[:8]}"
os.environ["CACHE_KEY_PREFIX"] = PREFIX
# The servers and this process sign the shoppers' cookies (session, cart) with the same key.
SECRET = "bench-pages-not-secret"  # noqa: S105
os.environ["SECRET_KEY"] = SECRET

BASKETS = 60
COMPONENTS = 40
HOUSEHOLD_SIZES = {1: "45.00", 2: "80.00", 4: "150.00"}
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
WORKERS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_shop() -> str:
    """60 baskets on sale; returns the address of the last one's page (40 components)."""
    from baskets.storefront import basket_url
    from tests.baskets.factories import basket_theme_create, groceries_create, themed_basket_create

    themes = [
        basket_theme_create(name="Essentiel", slug="essentiel", min_components=COMPONENTS),
        basket_theme_create(name="Végétarien", slug="vegetarien", min_components=COMPONENTS),
    ]
    products = groceries_create(count=120, cost="0.20", category="Épicerie")
    last = None
    for n in range(BASKETS):
        last = themed_basket_create(
            title=f"Panier {n:03d}",
            theme=themes[n % 2],
            diets={"vegetarian"} if n % 2 else set(),
            components={products[(n + i) % len(products)]: 1 for i in range(COMPONENTS)},
            sizes=HOUSEHOLD_SIZES,
        )
    return basket_url(product_id=last.product_id, slug=last.product.slug) + "?persons=2"


def shoppers(detail: str) -> dict[str, str]:
    """Cookie headers: an anonymous visitor with a message waiting (Django's message cookie,
    sent again by wrk with every request), a shopper with one basket in their cart (anonymous,
    Oscar's cart cookie) and a logged-in shopper with an empty cart (session cookie)."""
    from django.contrib.auth import get_user_model
    from django.contrib.messages import constants
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponse
    from django.test import Client, RequestFactory

    from baskets.models import BasketVariant

    with_cart = Client()
    variant = BasketVariant.objects.order_by("-pk").first()
    with_cart.get(detail)
    assert with_cart.post(f"/basket/add/{variant.product_id}/", {"quantity": 1}).status_code == 302
    logged_in = Client()
    logged_in.force_login(
        get_user_model().objects.create_user("camille", "camille@example.org", "not-used")
    )
    logged_in.get("/paniers/")

    def header(client: Client) -> str:
        kept = {name: morsel.value for name, morsel in client.cookies.items() if morsel.value}
        kept.pop("messages", None)  # the "added to your cart" message was seen
        return "; ".join(f"{name}={value}" for name, value in kept.items())

    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(constants.INFO, "Bienvenue !")
    carrier = HttpResponse()
    storage.update(carrier)
    message = f"{CookieStorage.cookie_name}={carrier.cookies[CookieStorage.cookie_name].value}"
    return {"message": message, "cart": header(with_cart), "logged in": header(logged_in)}


def queries_per_page(url: str, *, cookie: str = "", cached: bool = True) -> int:
    """SQL queries of one request for ``url`` (in this process, on the same data)."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    seconds = 600 if cached else 0
    client = Client(HTTP_COOKIE=cookie) if cookie else Client()
    with override_settings(
        STOREFRONT_LIST_CACHE_SECONDS=seconds, STOREFRONT_BASKET_PAGE_CACHE_SECONDS=seconds
    ):
        client.get(url)  # warm-up (site, content types; fills the cache when cached)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def server(port: int, database: str, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pages_settings",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/10"),
        "CACHE_KEY_PREFIX": PREFIX,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        # The pages alone: the waiting room (on in production) is measured by
        # bench_waitingroom.py, and would queue wrk's cookie-less visitors here.
        "WAITING_ROOM_ENABLED": "false",
        **extra,
    }
    log = open(ROOT / "var" / f"bench_pages_gunicorn_{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "essentiels.wsgi:application",
            "--config",
            str(ROOT / "bench" / "pages_gunicorn.conf.py"),
            "--chdir",
            str(ROOT),
            "--pythonpath",
            str(ROOT / "bench"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/hello", timeout=2)  # noqa: S310
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"gunicorn did not start on port {port}: see {log.name}")


def get(url: str, cookie: str) -> tuple[int, str, int]:
    """Status, the X-Storefront-Cache header and the size of one request."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body = response.read()
        return response.status, response.headers.get("X-Storefront-Cache", ""), len(body)


def wrk(url: str, cookie: str, seconds: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    output = subprocess.run(  # noqa: S603
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", *headers, url],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", output)[1]),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", output)[1]),
        "errors": int(errors[1]) if errors else 0,
        "socket_errors": socket_errors[1] if socket_errors else "",
        "wrk_cpu": cpu / seconds,
    }


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench_pages.py needs wrk (the HTTP load generator): apt-get install wrk")
    (ROOT / "var").mkdir(exist_ok=True)
    base_port = int(os.environ.get("BENCH_PAGES_PORT", "0")) or free_port()
    ports = (base_port, base_port + 1 if os.environ.get("BENCH_PAGES_PORT") else free_port())
    with bench_database():
        from django.db import connection

        start = time.perf_counter()
        detail = build_shop()
        print(
            f"{BASKETS} baskets × {len(HOUSEHOLD_SIZES)} sizes × {COMPONENTS} components built "
            f"in {time.perf_counter() - start:.0f} s"
        )
        cookies = shoppers(detail)
        on, off = (f"http://127.0.0.1:{port}" for port in ports)
        # name: (server, path, cookie, the X-Storefront-Cache header it must carry)
        pages = {
            "hello-world": (on, "/bench/hello", "", ""),
            "list, cached": (on, "/paniers/", "", "hit"),
            "list, for the visitor": (on, "/paniers/", cookies["message"], "shell"),
            "page, for the visitor": (on, detail, cookies["message"], "shell"),
            "list, with a cart": (on, "/paniers/", cookies["cart"], "shell"),
            "page, with a cart": (on, detail, cookies["cart"], "shell"),
            "list, logged in": (on, "/paniers/", cookies["logged in"], "shell"),
            "list, cold render": (off, "/paniers/", "", "bypass"),
            "page, cold render": (off, detail, "", "bypass"),
        }
        if os.environ.get("BENCH_PAGES"):  # a subset, e.g. "list, cold render;page, cold render"
            chosen = {"hello-world", *os.environ["BENCH_PAGES"].split(";")}
            pages = {name: page for name, page in pages.items() if name in chosen}
        queries = {
            name: queries_per_page(path, cookie=cookie, cached=server_ == on)
            for name, (server_, path, cookie, _source) in pages.items()
            if name != "hello-world"
        }
        connection.close()  # the servers get the database's connections
        db = connection.settings_dict
        database = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        cached_server = server(ports[0], database)
        uncached_server = server(
            ports[1],
            database,
            STOREFRONT_LIST_CACHE_SECONDS="0",
            STOREFRONT_BASKET_PAGE_CACHE_SECONDS="0",
        )
        try:
            sizes = {}
            for name, (base, path, cookie, expected) in pages.items():
                for _ in range(2 * WORKERS):  # every worker warm (imports, release fingerprint)
                    status, source, size = get(base + path, cookie)
                assert (status, source) == (200, expected), (name, status, source)
                sizes[name] = size
                wrk(base + path, cookie, 2)
            runs: dict[str, list[dict]] = {name: [] for name in pages}
            load_before = os.getloadavg()
            for _ in range(ROUNDS):
                for name, (base, path, cookie, _expected) in pages.items():
                    runs[name].append(wrk(base + path, cookie, SECONDS))
            load_after = os.getloadavg()
        finally:
            for process in (cached_server, uncached_server):
                process.send_signal(signal.SIGTERM)
            for process in (cached_server, uncached_server):
                process.wait(timeout=60)

    print(
        f"gunicorn {WORKERS} sync workers per server, wrk -t1 -c{CONNECTIONS}, "
        f"{ROUNDS} × {SECONDS} s per page (median run)"
    )
    print(
        f"{'page':22} {'req/s':>8} {'ratio':>7} {'p50':>8} {'p99':>8} {'SQL':>4} "
        f"{'bytes':>7} {'errors':>6} {'wrk CPU':>8}"
    )
    hello = statistics.median(run["rps"] for run in runs["hello-world"])
    for name, page_runs in runs.items():
        median = sorted(page_runs, key=lambda run: run["rps"])[len(page_runs) // 2]
        errors = sum(run["errors"] for run in page_runs)
        print(
            f"{name:22} {median['rps']:8.0f} {median['rps'] / hello:6.1%} "
            f"{median['p50']:6.2f}ms {median['p99']:6.2f}ms "
            f"{queries.get(name, 0):4d} {sizes[name]:7d} {errors:6d} {median['wrk_cpu']:7.0%}"
            + (f"  socket errors: {median['socket_errors']}" if median["socket_errors"] else "")
        )
    every = {name: [round(run["rps"]) for run in page_runs] for name, page_runs in runs.items()}
    print("every run (req/s):", every)
    print(
        "list, cached: an anonymous visitor without cookies (the page from Redis). For the visitor "
        "(a message waiting), with a cart, logged in: not from the page cache but the cached "
        "shell with the visitor's own parts rendered into it (their messages; Oscar's mini-cart; "
        "account links). Cold render: the page cache off (as the first request after a change)."
    )
    print(
        f"targets: cached list ≥ 50 % of hello-world, uncached pages ≥ 10 % "
        f"(load average {load_before[0]:.2f} before, {load_after[0]:.2f} after). "
        f"machine: {machine()}"
    )


if __name__ == "__main__":
    main()
