"""Simulated shoppers for the stack's load, surge and fault benchmarks (bench/bench_stack.py).

Four kinds of user, picked by name on the command line:

- ``Shopper`` — the load mix: browse baskets 80 % (the basket list, filtered or not, and basket
  pages at a household size), add a basket to the cart 15 % (the page's form, its CSRF token,
  « Une seule fois »), check out with payment 5 % (guest checkout, an address in a served Paris
  postcode, the fixed-day shipping method, the preview page; then what Stripe.js does on that
  page — confirm the page's SetupIntent on localstripe with card 4242… — and « Payer »: the
  thank-you page names the order).
- ``SignedInShopper`` — signs in once (accounts from ``BENCH_ACCOUNTS``), then browses, adds to
  the cart and checks that « Mon compte » still knows them (the Redis outage: sessions are
  ``cached_db``).
- ``CheckoutOnce`` — one guest checkout, then the run ends (a smoke check of the flow).
- ``SurgeShopper`` — one visit per user, arriving at the spawn rate: the basket list, the
  waiting room's queue page polled until admitted (some enter a priority code, some sign in
  as customers flagged by customer care), then one journey of the same mix.

Alone, against ``make stack`` (loopback only, bounded by ``-t`` and ``-u``)::

    .venv/bin/locust -f bench/locust/locustfile.py --headless -u 20 -r 5 -t 60s \\
        --host http://127.0.0.1:8100 Shopper

Settings (environment): ``BENCH_OUT`` (a JSON file written at the end: every request, every
checkout, every surge visit — what bench_stack.py reports from), ``BENCH_THINK`` (think time
between steps in seconds, ``"0.5,2"``), ``BENCH_ACCOUNTS`` (a JSON file of shopper accounts:
``[{"email", "password", "flagged"}]``), ``BENCH_PRIORITY_CODE`` (a priority code from the
admin), ``BENCH_PRIORITY_EVERY`` (one surge shopper in N uses the code, another in N is
flagged; default 20), ``BENCH_POLL_SECONDS`` (queue page refresh, default 20),
``BENCH_QUEUE_DEADLINE`` (seconds a surge shopper waits at most, default 240),
``BENCH_SURGE_USERS`` (the run ends once that many visits are over), ``BENCH_WEIGHTS``
(``"SignedInShopper=2,Shopper=1"``: their proportions when several kinds run together).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import re
import time
import uuid
from urllib.parse import urlencode, urlsplit

import gevent
from locust import FastHttpUser, between, events, task

LIST = "/paniers/"
QUEUE = "/salle-attente/"
LOGIN = "/accounts/login/"
PROFILE = "/accounts/profile/"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
# The demo's open Paris arrondissements (essentiels/demo/districts.py), every weekday.
POSTCODES = [f"750{n:02d}" for n in range(1, 21)]
THEMES = ["essentiel", "fruits-legumes", "fromages", "plats-cuisines", "enfants"]
DIETS = ["vegetarian", "halal", "no_pork", "gluten_free"]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# A basket's page, with or without the household size the list was filtered on.
BASKET_LINK = re.compile(r'href="(/paniers/[a-z0-9-]+-\d+/)(?:\?[^"]*)?"')
ADD_FORM = re.compile(r'<form action="(/basket/add/\d+/)" method="post" class="basket-add-form"')
PLACE_FORM = re.compile(
    r'id="place_order_form".*?data-publishable-key="([^"]*)".*?data-setup-secret="([^"]*)"', re.S
)
STRIPE_JS = re.compile(r'src="(https?://[^"]+)/js\.stripe\.com/v3/"')
ORDER_NUMBER = re.compile(r"<title>\D*?(\d{6,})")


def _think() -> tuple[float, float]:
    low, high = os.environ.get("BENCH_THINK", "0.5,2").split(",")
    return float(low), float(high)


THINK = _think()
POLL_SECONDS = float(os.environ.get("BENCH_POLL_SECONDS", "20"))
QUEUE_DEADLINE = float(os.environ.get("BENCH_QUEUE_DEADLINE", "240"))
PRIORITY_EVERY = int(os.environ.get("BENCH_PRIORITY_EVERY", "20"))
SURGE_USERS = int(os.environ.get("BENCH_SURGE_USERS", "0"))

# --- What the run saw, written to BENCH_OUT at the end -------------------------------------------

REQUESTS: list[list] = []  # [start epoch, name, method, ms, status, failed, stage]
CHECKOUTS: list[dict] = []  # one per checkout attempt
VISITS: list[dict] = []  # one per surge shopper


@events.request.add_listener
def _record(request_type, name, response_time, response, context, exception, start_time, **_):
    status = getattr(response, "status_code", 0) or 0
    REQUESTS.append(
        [
            round(start_time, 4),
            name,
            request_type,
            round(response_time, 2),
            status,
            exception is not None,
            (context or {}).get("stage", ""),
        ]
    )


@events.quitting.add_listener
def _write(environment, **_):
    path = os.environ.get("BENCH_OUT")
    if not path:
        return
    with open(path, "w") as out:
        json.dump({"requests": REQUESTS, "checkouts": CHECKOUTS, "visits": VISITS}, out)


def _accounts() -> list[dict]:
    path = os.environ.get("BENCH_ACCOUNTS")
    if not path:
        return []
    with open(path) as accounts:
        return json.load(accounts)


ACCOUNTS = _accounts()
_plain_accounts = itertools.cycle([a for a in ACCOUNTS if not a.get("flagged")] or [None])
_flagged_accounts = itertools.cycle([a for a in ACCOUNTS if a.get("flagged")] or [None])
_arrivals = itertools.count()


class Failed(Exception):
    """A step answered something else than a shopper expects (already counted as a failure)."""


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _unexpected(response, expect) -> str:
    message = f"HTTP {response.status_code}, expected {expect}"
    if response.status_code in (301, 302, 303):
        message += f" (to {_path((response.headers or {}).get('Location', ''))})"
    return message


class Browsing:
    """The shop as a browser sees it: pages, their forms, and Stripe.js on the preview page."""

    client = None  # FastHttpUser's
    stage = ""
    last_status = 0

    def context(self) -> dict:
        return {"stage": self.stage}

    def think(self) -> None:
        gevent.sleep(random.uniform(*THINK))

    def request(self, method: str, path: str, *, name: str, expect, **kwargs):
        """One request, redirects not followed (a shopper's next step depends on them); an
        answer other than ``expect`` is a failure, and ends the shopper's action."""
        with self.client.request(
            method, path, name=name, allow_redirects=False, catch_response=True, **kwargs
        ) as response:
            self.last_status = response.status_code
            if response.status_code not in expect:
                response.failure(_unexpected(response, expect))
                raise Failed(name)
            response.success()
            return response

    def get(self, path: str, *, name: str, expect=(200,), **kwargs):
        return self.request("GET", path, name=name, expect=expect, **kwargs)

    def post(self, path: str, data: dict, *, name: str, expect=(302,), **kwargs):
        return self.request("POST", path, name=name, expect=expect, data=data, **kwargs)

    # -- browsing ----------------------------------------------------------------------------

    basket_links: list[str] = []

    def basket_list(self, *, filtered: bool | None = None) -> None:
        query = {}
        if filtered if filtered is not None else random.random() < 0.5:
            query = random.choice(
                [
                    {"theme": random.choice(THEMES)},
                    {"diet": random.choice(DIETS)},
                    {"persons": random.choice([1, 2, 4])},
                ]
            )
        path = LIST + (f"?{urlencode(query)}" if query else "")
        response = self.get(path, name=LIST)
        links = sorted(set(BASKET_LINK.findall(response.text or "")))
        if links:
            Browsing.basket_links = links

    def basket_page(self, *, persons: int | None = None) -> str:
        if not Browsing.basket_links:
            self.basket_list(filtered=False)  # a filter may match no basket
        path = random.choice(Browsing.basket_links)
        if persons or random.random() < 0.5:
            path += f"?persons={persons or random.choice([1, 2, 3, 4])}"
        return self.get(path, name="/paniers/[basket]/").text or ""

    def add_to_cart(self) -> None:
        # A size supply cannot serve has no form (the page offers its waiting list instead).
        for _attempt in range(3):
            page = self.basket_page(persons=random.choice([2, 3, 4]))
            form = ADD_FORM.search(page)
            token = CSRF.search(page)
            if form and token:
                break
        else:
            raise Failed("no add-to-cart form on three basket pages")
        self.post(
            form.group(1),
            {"csrfmiddlewaretoken": token.group(1), "quantity": "1", "frequency": "once"},
            name="/basket/add/[id]/",
        )

    # -- checkout ----------------------------------------------------------------------------

    def checkout(self) -> dict:
        """Add a basket, then check out the cart; records the attempt and its order number."""
        record = {"at": time.time(), "email": "", "order": None, "step": "", "status": 0}
        CHECKOUTS.append(record)
        try:
            record["step"] = "add"
            self.add_to_cart()
            self.think()
            record["step"] = "gateway"
            gateway = self.get("/checkout/", name="/checkout/", expect=(200, 302))
            if gateway.status_code == 200:
                # A guest: the gateway asks who they are.
                record["email"] = f"bench-{uuid.uuid4().hex[:12]}@example.fr"
                self.post(
                    "/checkout/",
                    {
                        "csrfmiddlewaretoken": CSRF.search(gateway.text).group(1),
                        "username": record["email"],
                        "options": "anonymous",
                    },
                    name="/checkout/",
                )
            record["step"] = "address"
            form = self.get("/checkout/shipping-address/", name="/checkout/shipping-address/")
            self.think()
            self.post(
                "/checkout/shipping-address/",
                {
                    "csrfmiddlewaretoken": CSRF.search(form.text).group(1),
                    "first_name": "Camille",
                    "last_name": "Martin",
                    "line1": f"{random.randint(1, 120)} rue de la Banque",
                    "line4": "Paris",
                    "postcode": random.choice(POSTCODES),
                    "country": "FR",
                    "phone_number": "",
                },
                name="/checkout/shipping-address/",
            )
            record["step"] = "method"
            # One fixed-day method for the district and one way to pay: Oscar skips both
            # choices (shipping method → payment method → payment details → preview).
            target = "/checkout/shipping-method/"
            for _hop in range(4):
                if target.startswith("/checkout/preview/"):
                    break
                if not target.startswith("/checkout/"):
                    # Back to the cart: a basket supply cannot serve (or an empty cart).
                    raise Failed(f"sent to {target}")
                hop = self.get(target, name=target.split("?")[0], expect=(302,))
                target = _path(hop.headers["Location"])
            record["step"] = "preview"
            preview = self.get(target, name="/checkout/preview/")
            self.think()
            record["step"] = "stripe"
            payment_method = self.stripe_confirm_card_setup(preview.text or "")
            record["step"] = "place_order"
            placed = self.post(
                "/checkout/preview/",
                {
                    "csrfmiddlewaretoken": CSRF.search(preview.text).group(1),
                    "action": "place_order",
                    "payment_method_id": payment_method,
                },
                name="/checkout/preview/ place_order",
            )
            location = _path(placed.headers.get("Location", ""))
            if not location.startswith("/checkout/thank-you/"):
                raise Failed(f"place_order went to {location}")
            record["step"] = "thank_you"
            thanks = self.get(location, name="/checkout/thank-you/")
            number = ORDER_NUMBER.search(thanks.text or "")
            record["order"] = number.group(1) if number else "?"
            record["step"] = "done"
        except Failed as exc:
            record["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 — a page without its form: recorded, not fatal
            record["error"] = repr(exc)[:200]
        record["ended"] = time.time()
        return record

    def stripe_confirm_card_setup(self, page: str) -> str:
        """What stripe_checkout.js does (localstripe's Stripe.js): confirm the page's SetupIntent
        with the card; returns the saved payment method. (localstripe refuses the publishable
        key on POST /v1/payment_methods, so the card goes with the confirmation, as its
        Stripe.js sends it.)"""
        form = PLACE_FORM.search(page)
        js = STRIPE_JS.search(page)
        if not form or not js:
            raise Failed("no payment form on the preview page")
        key, secret = form.groups()
        setup_intent = secret.split("_secret_")[0]
        with self.client.post(
            f"{js.group(1)}/v1/setup_intents/{setup_intent}/confirm",
            data=json.dumps(
                {
                    "key": key,
                    "use_stripe_sdk": True,
                    "client_secret": secret,
                    "payment_method_data": {"type": "card", "card": CARD},
                }
            ),
            headers={"Content-Type": "application/json"},
            name="localstripe: confirm SetupIntent",
            catch_response=True,
        ) as response:
            body = response.json() if response.status_code == 200 else {}
            if body.get("status") != "succeeded":
                response.failure(f"SetupIntent: HTTP {response.status_code} {body.get('status')}")
                raise Failed("stripe")
            method = body["payment_method"]
            return method if isinstance(method, str) else method["id"]

    # -- accounts ----------------------------------------------------------------------------

    def sign_in(self, account: dict, *, next_url: str = "") -> None:
        path = LOGIN + (f"?{urlencode({'next': next_url})}" if next_url else "")
        form = self.get(path, name=LOGIN)
        self.post(
            path,
            {
                "csrfmiddlewaretoken": CSRF.search(form.text).group(1),
                "login-username": account["email"],
                "login-password": account["password"],
                "login_submit": "1",
            },
            name=f"{LOGIN} (sign in)",
        )


def attempt(action):
    """A shopper's action: a step that fails is counted (by locust, as a failed request) and
    the shopper goes on with the next action."""

    @functools.wraps(action)
    def run(user) -> None:
        try:
            action(user)
        except Failed:
            pass

    return run


class Shopper(Browsing, FastHttpUser):
    """The load mix: 80 % browsing, 15 % adding to the cart, 5 % checking out and paying."""

    wait_time = between(*THINK)
    tasks = {
        attempt(Browsing.basket_list): 30,
        attempt(Browsing.basket_page): 50,
        attempt(Browsing.add_to_cart): 15,
        Browsing.checkout: 5,
    }


class SignedInShopper(Browsing, FastHttpUser):
    """A customer signed in once, browsing; « Mon compte » must keep knowing them."""

    wait_time = between(*THINK)
    account: dict | None = None

    def on_start(self) -> None:
        self.account = next(_plain_accounts)
        if self.account is None:
            raise RuntimeError("SignedInShopper needs BENCH_ACCOUNTS")
        try:
            self.sign_in(self.account)
        except Failed:
            self.account = None

    def my_account(self) -> None:
        # 200: still signed in; a redirect to the login page: the session was lost (signed in
        # again, as a shopper would).
        try:
            self.get(PROFILE, name=f"{PROFILE} (signed in?)")
        except Failed:
            if self.last_status == 302 and self.account is not None:
                self.sign_in(self.account)

    tasks = {
        attempt(Browsing.basket_list): 30,
        attempt(Browsing.basket_page): 45,
        attempt(Browsing.add_to_cart): 10,
        attempt(my_account): 15,
    }


class SurgeShopper(Browsing, FastHttpUser):
    """One arrival: queue if the room says so, then one journey of the load mix."""

    wait_time = between(3600, 3600)  # one visit, then idle until the run ends

    @task
    def visit(self) -> None:
        index = next(_arrivals)
        lane = "normal"
        slot = index % PRIORITY_EVERY if PRIORITY_EVERY else -1
        if slot == 3 and os.environ.get("BENCH_PRIORITY_CODE"):
            lane = "code"
        elif slot == PRIORITY_EVERY // 2 + 3 and any(a.get("flagged") for a in ACCOUNTS):
            lane = "flagged"
        record = {
            "index": index,
            "lane": lane,
            "arrived": time.time(),
            "queued": False,
            "admitted": None,
            "polls": 0,
            "journey": "",
            "ok": False,
            "cookie": "",
        }
        VISITS.append(record)
        try:
            self.stage = "arrival"
            entry = self.get(LIST, name=LIST, expect=(200, 302))
            if entry.status_code == 302:
                record["queued"] = True
                self.wait_in_queue(record, _path(entry.headers["Location"]))
            record["admitted"] = time.time()
            self.stage = "admitted"
            record["journey"] = self.journey()
            record["ok"] = True
        except Failed as exc:
            record["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 — recorded: the run goes on
            record["error"] = repr(exc)[:200]
        finally:
            record["ended"] = time.time()
            record["cookie"] = next(
                (c.value for c in self.client.cookiejar if c.name == "salle_attente"), ""
            )
            if SURGE_USERS and len(VISITS) >= SURGE_USERS and all("ended" in v for v in VISITS):
                gevent.spawn_later(1, self.environment.runner.quit)

    def wait_in_queue(self, record: dict, queue_url: str) -> None:
        self.stage = "queued"
        if not queue_url.startswith(QUEUE):
            raise Failed(f"redirected to {queue_url}, not the queue")
        page = self.get(queue_url, name=f"{QUEUE} (queued)", expect=(200, 302))
        if page.status_code == 200 and record["lane"] == "code":
            token = CSRF.search(page.text or "")
            self.post(
                f"{QUEUE}code/",
                {
                    "csrfmiddlewaretoken": token.group(1) if token else "",
                    "code": os.environ["BENCH_PRIORITY_CODE"],
                    "suite": LIST,
                },
                name=f"{QUEUE}code/",
                expect=(303, 302),
            )
            page = self.get(queue_url, name=f"{QUEUE} (queued)", expect=(200, 302))
            # From now on in the priority lane (or admitted already).
            record["priority_at"] = time.time()
        elif page.status_code == 200 and record["lane"] == "flagged":
            # The queue page's « sign in » link: the login page is never queued.
            self.sign_in(next(_flagged_accounts), next_url=queue_url)
            page = self.get(queue_url, name=f"{QUEUE} (queued)", expect=(200, 302))
            record["priority_at"] = time.time()
        deadline = time.time() + QUEUE_DEADLINE
        while page.status_code == 200:
            record["polls"] += 1
            if time.time() > deadline:
                raise Failed("still queued at the deadline")
            gevent.sleep(POLL_SECONDS)
            page = self.get(queue_url, name=f"{QUEUE} (queued)", expect=(200, 302))
        if not _path(page.headers["Location"]).startswith(LIST):
            raise Failed(f"admitted to {page.headers['Location']}")

    def journey(self) -> str:
        roll = random.random()
        self.basket_list()
        self.think()
        if roll < 0.05:
            attempt = self.checkout()
            if attempt["step"] != "done":
                raise Failed(f"checkout stopped at {attempt['step']}")
            return "checkout"
        if roll < 0.20:
            self.add_to_cart()
            self.think()
            self.get("/basket/", name="/basket/")
            return "add"
        self.basket_page()
        self.think()
        self.basket_page()
        return "browse"


class CheckoutOnce(Browsing, FastHttpUser):
    """One guest checkout, then the run ends: a smoke check of the checkout flow (run with
    ``-u 1``; tests/stack/test_load_smoke.py)."""

    wait_time = between(0, 0)

    @task
    def once(self) -> None:
        self.checkout()
        gevent.spawn(self.environment.runner.quit)
        gevent.sleep(3600)


# How many of each kind when several run together: BENCH_WEIGHTS="SignedInShopper=2,Shopper=1".
for _pair in filter(None, os.environ.get("BENCH_WEIGHTS", "").split(",")):
    _name, _, _weight = _pair.partition("=")
    globals()[_name.strip()].weight = int(_weight)
