"""The native stack (scripts/stack.sh: nginx, three gunicorn app servers, Celery worker and beat,
localstripe) started once for this folder's tests, on ports of its own, against the test database
and a Redis server of its own — so a test can stop that Redis without touching anyone else's.

Ports: free ones from the kernel, or STACK_TEST_PORT, STACK_TEST_PORT+1… (six of them).
Every process started here is stopped at the end, the tests failing or not.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from tests.stack.support import LEAKS, RedisServer, free_ports, kill_leftovers, process_alive

ROOT = Path(__file__).resolve().parents[2]
STACK_SCRIPT = ROOT / "scripts" / "stack.sh"
SERVERS = 3


def ports(count: int) -> list[int]:
    return free_ports(count, base_variable="STACK_TEST_PORT")


@dataclass
class Stack:
    dir: Path
    env: dict[str, str]
    port: int
    app_ports: list[int]
    redis: RedisServer
    outputs: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app_url(self, server: int) -> str:
        """Server 1, 2 or 3, directly (not through nginx)."""
        return f"http://127.0.0.1:{self.app_ports[server - 1]}"

    def server_name(self, port: int | str) -> str:
        return f"web{self.app_ports.index(int(port)) + 1}"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603 — our own script
            [str(STACK_SCRIPT), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.outputs.append(f"$ stack.sh {' '.join(args)}\n{result.stdout}{result.stderr}")
        return result

    def start(self) -> None:
        result = self.run("start")
        if result.returncode != 0:
            raise AssertionError(
                f"stack.sh start failed:\n{result.stdout}{result.stderr}\n{self.logs()}"
            )

    def pid(self, name: str) -> int:
        return int((self.dir / "run" / f"{name}.pid").read_text())

    def kill(self, name: str) -> None:
        """SIGKILL a whole process (a gunicorn master and its workers) at once."""
        pid = self.pid(name)
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def workers(self, name: str) -> set[int]:
        """The live worker processes of app server ``name`` (its master's children)."""
        master = self.pid(name)
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(ppid) == master and state != "Z":
                children.add(int(stat.parent.name))
        return children

    def log(self, name: str) -> str:
        path = self.dir / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        parts = []
        for path in sorted((self.dir / "log").glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"== {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory) -> Iterator[Stack]:
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.fail("nginx is not installed: apt-get install nginx (.ci/run installs it).")
    directory = tmp_path_factory.mktemp("stack")
    nginx_port, *app_ports, localstripe_port, redis_port = ports(SERVERS + 3)
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    server = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env = {k: v for k, v in os.environ.items() if k not in LEAKS and not k.startswith("STACK_")}
    env.update(
        STACK_DIR=str(directory),
        STACK_PORT=str(nginx_port),
        STACK_APP_PORTS=" ".join(map(str, app_ports)),
        STACK_LOCALSTRIPE_PORT=str(localstripe_port),
        STACK_DATABASE_URL=f"postgres://{credentials}@{server}/{db['NAME']}",
        STACK_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        STACK_SETTINGS="tests.stack.stack_settings",
        # pytest-django made and migrated the database; static files are still collected.
        STACK_SETUP="0",
        GUNICORN_WORKERS="2",
        STACK_CELERY_CONCURRENCY="1",
        STACK_STOP_TIMEOUT="20",
    )
    stack = Stack(
        dir=directory,
        env=env,
        port=nginx_port,
        app_ports=app_ports,
        redis=RedisServer(port=redis_port, dir=directory),
    )
    try:
        stack.redis.start()
        stack.start()
        yield stack
    finally:
        try:
            stack.run("stop", timeout=180)
        finally:
            kill_leftovers(directory)
            stack.redis.stop()


@pytest.fixture
def shopper(transactional_db):
    """A shopper account the stack can check: hashed with PBKDF2 (the test settings' MD5 hasher
    is unknown to the stack's production settings). Committed, so the stack's servers see it;
    the transactional test flushes it afterwards."""
    from django.contrib.auth import get_user_model

    password = "stack-shopper-password"
    user = get_user_model().objects.create(
        username="stack-shopper",
        email="shopper@stack.example",
        password=PBKDF2PasswordHasher().encode(password, "stacksalt" * 2),
    )
    return user, password


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def login(
    session: requests.Session,
    *,
    form_url: str,
    post_url: str | None = None,
    email: str,
    password: str,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """Fetch Oscar's login form from one URL and post it back, or to another URL (another
    server, maybe)."""
    form = session.get(form_url, timeout=30)
    assert form.status_code == 200, form.status_code
    return session.post(
        post_url or form_url,
        data={
            "csrfmiddlewaretoken": token or csrf_token(form.text),
            "login-username": email,
            "login-password": password,
            "login_submit": "1",
        },
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )
