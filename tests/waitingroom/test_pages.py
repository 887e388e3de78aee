"""The room in front of the shop: the middleware, the queue page, the signed token, the API
answer, the paths never queued, staff and priority shoppers, and Redis down."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.waitingroom.conftest import visitor_id
from waitingroom.store import Keys, redis_reset
from waitingroom.tokens import COOKIE_NAME, token_loads

pytestmark = pytest.mark.django_db

PAGE = "/livraison/verifier/?postcode=75013"  # a light shop page
QUEUE = "/salle-attente/"


def fill(room, *, max_active: int = 1, **limits) -> None:
    """The room configured and full: ``max_active`` shoppers already inside."""
    room.configure(max_active=max_active, **limits)
    for i in range(max_active):
        assert room.visit(visitor_id(f"inside{i}"), at_ms=None).state == "admitted"


def queued(client: Client, path: str = PAGE, *, follow: bool = True):
    """Ask for a page and be sent to the queue page, which (followed, as a browser does) gives
    the visitor their place."""
    response = client.get(path)
    assert response.status_code == 302, response
    assert response["Location"].startswith(QUEUE)
    if follow:
        assert client.get(response["Location"]).status_code == 200
    return response


def position(html: str) -> int:
    match = re.search(r"Votre place dans la file : <strong>(\d+)</strong>", html)
    assert match, html
    return int(match.group(1))


def queue_position(client: Client) -> int:
    response = client.get(QUEUE, {"suite": "/livraison/"})
    assert response.status_code == 200
    return position(response.content.decode())


def test_off_by_default_the_room_does_nothing(client, settings):
    assert settings.WAITING_ROOM_ENABLED is False
    from waitingroom.store import client as redis_client

    redis_client().delete(Keys.active, Keys.queue)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert COOKIE_NAME not in response.cookies
    assert not redis_client().exists(Keys.active, Keys.queue)


def test_an_admitted_shopper_costs_one_redis_round_trip_and_no_query(client, room, monkeypatch):
    # given the same page's queries with the room off
    room.configure()
    from django.test import override_settings

    with override_settings(WAITING_ROOM_ENABLED=False), CaptureQueriesContext(connection) as off:
        assert client.get(PAGE).status_code == 200
    # and a shopper admitted on their first request (their token set)
    first = client.get(PAGE)
    assert first.status_code == 200
    assert COOKIE_NAME in first.cookies
    # when they come back
    conn = room.redis()
    calls: list[str] = []
    original = conn.execute_command

    def counting(*args, **kwargs):
        calls.append(str(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(conn, "execute_command", counting)
    with CaptureQueriesContext(connection) as on:
        again = client.get(PAGE)
    # then one Redis command (the admission script), no query more than without the room, and
    # no new cookie
    assert again.status_code == 200
    assert calls == ["EVALSHA"]
    assert len(on.captured_queries) == len(off.captured_queries)
    assert COOKIE_NAME not in again.cookies


def test_a_visitor_beyond_the_limits_waits_on_a_light_page(client, room, django_assert_num_queries):
    fill(room)
    # when a new visitor asks for a page: no database query to send them to the queue
    with django_assert_num_queries(0):
        response = queued(client, follow=False)
    assert response["X-Waiting-Room"] == "queued"
    assert parse_qs(urlsplit(response["Location"]).query)["suite"] == [PAGE]
    assert COOKIE_NAME in response.cookies
    # and none to show the queue page either
    with django_assert_num_queries(0):
        page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert position(html) == 1
    assert "Attente estimée" in html
    assert "se met à jour toute seule toutes les 20 secondes" in html
    assert 'http-equiv="refresh" content="20;' in html
    assert "noindex" in html
    assert "no-store" in page["Cache-Control"]


def test_a_client_that_keeps_no_cookie_never_takes_a_place(room):
    fill(room)
    # a crawler sending no cookie back is told to wait, and holds no place
    for _request in range(5):
        response = Client().get(PAGE)
        assert response.status_code == 302
        assert COOKIE_NAME in response.cookies
    assert room.redis().zcard(Keys.queue) == 0
    # a browser comes back with its token on the queue page and gets its place there
    browser = Client()
    queued(browser, follow=False)
    assert room.redis().zcard(Keys.queue) == 0
    assert queue_position(browser) == 1
    assert room.redis().zcard(Keys.queue) == 1


def test_the_token_keeps_the_place_across_refreshes_and_app_servers(room):
    fill(room)
    first, second = Client(), Client()
    queued(first)
    queued(second)
    for _refresh in range(3):
        assert queue_position(first) == 1
        assert queue_position(second) == 2
    # another app server: another process's Redis client, the same cookie
    redis_reset()
    elsewhere = Client()
    elsewhere.cookies[COOKIE_NAME] = first.cookies[COOKIE_NAME].value
    assert queue_position(elsewhere) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda value: value[:-2] + ("AA" if value[-2:] != "AA" else "BB"),  # signature
        lambda value: "x" + value[1:],  # payload
        lambda value: "",
    ],
)
def test_a_forged_or_tampered_token_starts_again_at_the_back(room, tamper):
    fill(room)
    first, second = Client(), Client()
    queued(first)
    queued(second)
    forged = Client()
    forged.cookies[COOKIE_NAME] = tamper(first.cookies[COOKIE_NAME].value)
    assert queue_position(forged) == 3
    assert queue_position(first) == 1


def test_a_token_signed_with_another_key_is_ignored(room, settings):
    fill(room)
    first = Client()
    queued(first)
    from waitingroom.tokens import VisitorToken, token_dumps

    original_visitor = token_loads(first.cookies[COOKIE_NAME].value).visitor
    settings.SECRET_KEY = "someone-else-s-key-" * 3
    forged_value = token_dumps(VisitorToken(visitor=original_visitor, kind="c"))
    settings.SECRET_KEY = "test-only-not-secret-les-essentiels"
    forged = Client()
    forged.cookies[COOKIE_NAME] = forged_value
    assert queue_position(forged) == 2


def test_when_a_slot_frees_the_queue_page_sends_the_shopper_on(client, room):
    fill(room)
    queued(client)
    room.redis().delete(Keys.active)
    response = client.get(QUEUE, {"suite": PAGE})
    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert client.get(PAGE).status_code == 200


@pytest.mark.parametrize("suite", ["https://evil.example/", "//evil.example/", QUEUE, ""])
def test_the_queue_page_only_sends_on_to_this_site(client, room, suite):
    response = client.get(QUEUE, {"suite": suite})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_ACCEPT": "application/json"}, {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}],
)
def test_api_clients_get_429_with_retry_after(client, room, headers):
    fill(room)
    response = client.get(PAGE, **headers)
    assert response.status_code == 429
    assert response["Retry-After"] == "20"
    body = response.json()
    assert body["status"] == "queued"
    assert body["position"] == 1
    assert body["retry_after"] == 20
    assert body["queue_url"].startswith(QUEUE)
    # polling the queue URL as an API client: the same answer, then « admitted »
    assert client.get(body["queue_url"], **headers).status_code == 429
    room.redis().delete(Keys.active)
    admitted = client.get(body["queue_url"], **headers)
    assert admitted.status_code == 200
    assert admitted.json() == {"status": "admitted", "next": PAGE}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/healthz"),
        ("post", "/paiements/webhook/stripe/"),
        ("get", "/static/delivery/routes.css"),
        ("get", "/media/images/x.jpg"),
        ("get", "/admin/login/"),
        ("get", "/en/admin/login/"),
        ("get", "/accounts/login/"),
        ("get", "/en/accounts/login/"),
        ("post", "/i18n/setlang/"),
        ("get", "/en/salle-attente/"),
    ],
)
def test_these_paths_are_never_queued(client, room, method, path):
    room.configure(max_active=0, admit_per_minute=0)
    response = getattr(client, method)(path)
    assert response.get("X-Waiting-Room") is None or path.endswith("salle-attente/")
    assert not (response.status_code == 302 and response["Location"].startswith(QUEUE))
    assert response.status_code != 429
    assert room.redis().zcard(Keys.queue) == (1 if "salle-attente" in path else 0)


def test_staff_are_never_queued_and_take_no_slot(client, room, django_user_model):
    room.configure(max_active=0, admit_per_minute=0)
    staff = django_user_model.objects.create_user("ops", "ops@example.org", "x", is_staff=True)
    client.force_login(staff)
    assert client.get(PAGE).status_code == 200
    assert client.get(PAGE).status_code == 200
    assert room.redis().zcard(Keys.active) == 0
    assert room.redis().zcard(Keys.queue) == 0
    # logged out, the same browser is a visitor like any other
    client.logout()
    queued(client)


def test_a_customer_flagged_by_customer_care_skips_the_queue(room, django_user_model):
    from waitingroom.priority import priority_shopper_flag

    fill(room)
    ahead = Client()
    queued(ahead)
    customer = django_user_model.objects.create_user("mme-l", "mme.l@example.org", "x")
    priority_shopper_flag(user=customer, note="appel de sa fille")
    flagged = Client()
    # anonymous at first: behind the others
    queued(flagged)
    assert queue_position(flagged) == 2
    # once signed in: first, in the priority lane
    flagged.force_login(customer)
    page = flagged.get(QUEUE, {"suite": "/livraison/"}).content.decode()
    assert position(page) == 1
    assert "Voie prioritaire" in page
    assert queue_position(ahead) == 2
    # and the next free slot is theirs
    room.redis().delete(Keys.active)
    assert flagged.get(PAGE).status_code == 200
    assert queue_position(ahead) == 1


def test_an_expired_flag_gives_no_priority(room, django_user_model):
    from datetime import date

    from waitingroom.priority import priority_shopper_flag

    fill(room)
    customer = django_user_model.objects.create_user("m-x", "m.x@example.org", "x")
    priority_shopper_flag(user=customer, until=date(2020, 1, 1))
    ahead, late = Client(), Client()
    queued(ahead)
    late.force_login(customer)
    queued(late)
    assert queue_position(late) == 2


def test_without_redis_the_shop_serves_and_logs(client, room, settings, caplog):
    fill(room)
    settings.WAITING_ROOM_REDIS_URL = "redis://127.0.0.1:8799/12"  # nothing listens there
    redis_reset()
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "Redis unavailable" in caplog.text
    # the queue page sends people on, the next requests do not even try for a while
    assert client.get(QUEUE, {"suite": PAGE})["Location"] == PAGE
    assert client.get(PAGE).status_code == 200


def test_ops_status_is_for_staff_only(client, room, django_user_model):
    fill(room, max_active=2)
    queued(Client())
    assert client.get("/salle-attente/etat/").status_code == 403
    shopper = django_user_model.objects.create_user("s", "s@example.org", "x")
    client.force_login(shopper)
    assert client.get("/salle-attente/etat/").status_code == 403
    staff = django_user_model.objects.create_user("o", "o@example.org", "x", is_staff=True)
    client.force_login(staff)
    body = client.get("/salle-attente/etat/").json()
    assert body["available"] is True
    assert body["active"] == 2
    assert body["queued"] == 1
    assert body["max_active"] == 2
    assert body["admitted_last_minute"] == 2


def test_the_status_command_prints_the_figures(room):
    import json
    from io import StringIO

    from django.core.management import call_command

    fill(room, max_active=3)
    out = StringIO()
    call_command("waitingroom_status", stdout=out)
    body = json.loads(out.getvalue())
    assert body["active"] == 3
    assert body["queued"] == 0
