"""The deployment topology, running (scripts/stack.sh): nginx in front of three gunicorn app
servers, Celery and localstripe, proven with real processes, real signals and a Redis outage.

Probe views (tests/stack/views.py) report what an app server saw; the stack's logs tell who
served what. The stack runs on the test database: every test here is transactional, so what the
stack wrote is flushed afterwards."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.stack.conftest import csrf_token, login
from tests.stack.support import process_alive

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FORGED = {
    "X-Forwarded-For": "203.0.113.66",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Ssl": "on",
    "X-Real-IP": "203.0.113.66",
    "Forwarded": "for=203.0.113.66;proto=https",
}


@pytest.fixture
def revive(stack):
    """After a test that killed a server: stack.sh start brings back whatever is missing."""
    yield
    stack.start()


def wait_until(condition: Callable[[], object], *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Stream:
    """Threads sending requests until stopped, keeping every answer (or exception)."""

    def __init__(self, send: Callable[[requests.Session], requests.Response], threads: int):
        self.send = send
        self.answers: list[tuple[int, dict | None]] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            try:
                response = self.send(session)
                body = response.json() if response.status_code == 200 else None
                self.answers.append((response.status_code, body))
            except Exception as exc:  # noqa: BLE001 — a dropped request is what we look for
                self.errors.append(exc)

    def __enter__(self) -> Stream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def wait_for(self, count: int) -> None:
        wait_until(lambda: len(self.answers) >= count, seconds=60, what=f"{count} answers")


def test_nginx_overwrites_forwarding_headers_a_client_forged(stack):
    # given a client lying about its address and scheme
    # when it goes through nginx
    seen = requests.get(f"{stack.url}/_stack/request/", headers=FORGED, timeout=30).json()
    # then the app sees the real client (loopback, plain http), nothing appended
    assert seen["x_forwarded_for"] == "127.0.0.1"
    assert seen["x_real_ip"] == "127.0.0.1"
    assert seen["x_forwarded_proto"] == "http"
    assert seen["is_secure"] is False
    assert seen["wsgi_url_scheme"] == "http"
    # and the other forwarding headers are dropped; Host keeps its port (CSRF's Origin check)
    assert seen["x_forwarded_host"] is None
    assert seen["x_forwarded_ssl"] is None
    assert seen["forwarded"] is None
    assert seen["host"] == f"127.0.0.1:{stack.port}"
    # control: straight to an app server, the forged values arrive — nginx removed them
    direct = requests.get(f"{stack.app_url(1)}/_stack/request/", headers=FORGED, timeout=30)
    assert direct.json()["x_forwarded_for"] == "203.0.113.66"


def test_nginx_serves_hashed_static_files_cached_forever(stack):
    # given a page linking its stylesheet under a hashed name (CompressedManifestStaticFilesStorage)
    page = requests.get(f"{stack.url}/paniers/", timeout=30)
    assert page.status_code == 200
    css = re.search(r"/static/[^\"']+\.[0-9a-f]{12}\.css", page.text).group(0)
    # when a browser fetches it
    hashed = requests.get(f"{stack.url}{css}", headers={"Accept-Encoding": "gzip"}, timeout=30)
    # then nginx sends whitenoise's compressed copy, to be kept a year
    assert hashed.status_code == 200
    assert hashed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert hashed.headers["Content-Encoding"] == "gzip"
    # and the same file under its plain name may change: a short lifetime
    plain_name = re.sub(r"\.[0-9a-f]{12}\.css$", ".css", css)
    plain = requests.get(f"{stack.url}{plain_name}", timeout=30)
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "public, max-age=300"
    # and no app server was asked for either
    assert not any(css.split("/")[-1] in stack.log(f"web{i}") for i in (1, 2, 3))


def test_media_are_one_folder_shared_by_every_server_and_served_by_nginx(stack):
    # given a file uploaded into the media folder
    (stack.dir / "media" / "probe.txt").write_text("shared")
    # then nginx serves it, and every app server writes to that same folder
    response = requests.get(f"{stack.url}/media/probe.txt", timeout=30)
    assert (response.status_code, response.text) == (200, "shared")
    roots = {
        requests.get(f"{stack.app_url(i)}/_stack/request/", timeout=30).json()["media_root"]
        for i in (1, 2, 3)
    }
    assert roots == {str(stack.dir / "media")}


def test_a_form_from_one_server_posts_to_another(stack, shopper):
    user, password = shopper
    # every server signs with the same key
    digests = {
        requests.get(f"{stack.app_url(i)}/_stack/request/", timeout=30).json()["secret_key_digest"]
        for i in (1, 2, 3)
    }
    assert len(digests) == 1
    session = requests.Session()
    form, other = f"{stack.app_url(1)}/accounts/login/", f"{stack.app_url(2)}/accounts/login/"
    # given CSRF is enforced: a forged token is refused
    forged = login(
        session, form_url=form, post_url=other, email=user.email, password=password, token="x" * 64
    )
    assert forged.status_code == 403
    # when the login form fetched from server 1 is posted to server 2
    answer = login(session, form_url=form, post_url=other, email=user.email, password=password)
    # then the shopper is logged in, and server 3 knows them
    assert answer.status_code == 302, answer.text[:500]
    assert "/accounts/login/" not in answer.headers["Location"]
    seen = session.get(f"{stack.app_url(3)}/_stack/request/", timeout=30).json()
    assert seen["user"] == user.username


def test_a_browser_form_posted_through_nginx_passes_the_origin_check(stack, shopper):
    user, password = shopper
    # given a browser that sends Origin with its POSTs, as they all do
    session = requests.Session()
    # when it logs in through the balancer (the form and the post may land on different servers)
    answer = login(
        session,
        form_url=f"{stack.url}/accounts/login/",
        email=user.email,
        password=password,
        headers={"Origin": stack.url},
    )
    # then Django finds the Origin matches the Host nginx passed on
    assert answer.status_code == 302, answer.text[:500]


def test_a_post_whose_server_dies_is_not_replayed_on_another(stack, revive):
    request_id = uuid.uuid4().hex
    posts = stack.dir / "posts.log"
    outcome: dict[str, object] = {}

    def post() -> None:
        try:
            outcome["response"] = requests.post(
                f"{stack.url}/_stack/slow-post/?id={request_id}&seconds=20", timeout=90
            )
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc

    # given a POST being handled by one of the servers
    thread = threading.Thread(target=post)
    thread.start()

    def handled_by() -> str | None:
        lines = posts.read_text().splitlines() if posts.exists() else []
        return next((line for line in lines if line.startswith(request_id)), None)

    port = wait_until(handled_by, seconds=30, what="the POST to reach a server").split()[1]
    # when that server dies (SIGKILL, master and workers) before answering
    stack.kill(stack.server_name(port))
    thread.join(timeout=60)
    # then nginx answers 502 rather than sending the POST to another server
    assert "error" not in outcome, outcome.get("error")
    assert outcome["response"].status_code == 502
    assert [line for line in posts.read_text().splitlines() if line.startswith(request_id)] == [
        handled_by()
    ]


def test_gets_fail_over_when_a_server_is_killed_mid_stream(stack, revive):
    victim = "web2"
    victim_port = str(stack.app_ports[1])
    # given shoppers browsing through nginx; each page takes 0.2 s, so some are in flight
    with Stream(
        lambda s: s.get(f"{stack.url}/_stack/request/?seconds=0.2", timeout=60), threads=4
    ) as stream:
        stream.wait_for(30)
        # when one server is SIGKILLed (master and workers)
        stack.kill(victim)
        killed_at = len(stream.answers)
        stream.wait_for(killed_at + 60)
    # then not one request failed: those cut on the dead server were retried on the others
    assert stream.errors == []
    assert {status for status, _ in stream.answers} == {200}
    ports_before = {body["server_port"] for _, body in stream.answers[:killed_at]}
    assert victim_port in ports_before
    # (answers already on their way when the kill happened may be counted after it)
    ports_after = {body["server_port"] for _, body in stream.answers[killed_at + 4 :]}
    assert victim_port not in ports_after
    assert len(ports_after) == 2


def test_hup_reloads_a_server_without_losing_a_request(stack):
    workers_per_server = int(stack.env["GUNICORN_WORKERS"])

    def reload(name: str) -> None:
        before = stack.workers(name)
        os.kill(stack.pid(name), signal.SIGHUP)
        # done when none of the old workers is left and the new ones are all there
        wait_until(
            lambda: (now := stack.workers(name)).isdisjoint(before)
            and len(now) == workers_per_server,
            seconds=60,
            what=f"{name} to replace its workers",
        )

    # given requests streaming straight at server 1 (no balancer to retry for it) and POSTs
    # through nginx (which never retries them)
    direct = Stream(lambda s: s.get(f"{stack.app_url(1)}/_stack/request/", timeout=60), threads=2)
    posts = Stream(lambda s: s.post(f"{stack.url}/_stack/ping/", timeout=60), threads=2)
    with direct, posts:
        direct.wait_for(20)
        posts.wait_for(20)
        pids_before = {body["pid"] for _, body in direct.answers}
        # when every server is HUP'd, server 1 three times
        for name in ("web1", "web2", "web1", "web3", "web1"):
            reload(name)
        direct.wait_for(len(direct.answers) + 20)
        posts.wait_for(len(posts.answers) + 20)
    # then every request was answered, 200, and server 1 runs new workers
    assert direct.errors == []
    assert posts.errors == []
    assert {status for status, _ in direct.answers + posts.answers} == {200}
    assert {body["pid"] for _, body in direct.answers[-5:]}.isdisjoint(pids_before)


def test_redis_down_pages_still_served_and_shoppers_stay_logged_in(stack, shopper):
    user, password = shopper
    session = requests.Session()
    form = f"{stack.url}/accounts/login/"
    answer = login(session, form_url=form, email=user.email, password=password)
    assert answer.status_code == 302
    assert session.get(f"{stack.url}/accounts/profile/", timeout=30).status_code == 200
    # when the stack's Redis (cache, session cache, broker) stops
    stack.redis.stop()
    try:
        # then every server still knows the shopper (sessions fall back to the database)
        for server in (1, 2, 3):
            profile = session.get(
                f"{stack.app_url(server)}/accounts/profile/", allow_redirects=False, timeout=30
            )
            assert profile.status_code == 200, (server, profile.status_code)
        # and pages are served, to anonymous visitors too
        for path in ("/paniers/", "/catalogue/", "/accounts/login/"):
            assert requests.get(f"{stack.url}{path}", timeout=30).status_code == 200, path
        assert csrf_token(requests.get(f"{stack.url}/accounts/login/", timeout=30).text)
        # and the Redis errors were logged, not raised
        logs = "".join(stack.log(f"web{i}") for i in (1, 2, 3))
        assert "django_redis.cache Exception ignored" in logs
    finally:
        stack.redis.start()


def test_a_celery_worker_that_dies_comes_back_by_itself(stack):
    # given the stack's worker (under scripts/respawn.sh, the native restart policy)
    pid_file = stack.dir / "run" / "worker.celery.pid"
    wait_until(pid_file.exists, seconds=60, what="the worker's pid file")
    first = int(pid_file.read_text())
    # when it dies the way it does when Redis vanishes (it exits; SIGKILL here)
    os.kill(first, signal.SIGKILL)

    def replaced() -> bool:
        try:
            pid = int(pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return False
        return pid != first and process_alive(pid)

    # then another worker process is running within seconds, and the stack says all is up
    wait_until(replaced, seconds=60, what="a new worker")
    assert stack.run("status").returncode == 0
