"""The native stack (scripts/stack.sh) for benchmarks that load it from outside.

Started on loopback ports of its own (from the kernel, or consecutive from ``BENCH_STACK_PORT``),
with a database of its own (``essentiels_bench_stack``, recreated for each run) and a
redis-server of its own, so a benchmark can stop Redis without touching anybody else's. A stack
already running in the benchmark's folder (``BENCH_STACK_DIR``, default ``var/bench-stack``) is
reused as it is and left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from _setup import ROOT

from tests.stack.support import LEAKS, RedisServer, kill_leftovers, process_alive
from tests.stack.support import free_ports as _free_ports

STACK_SCRIPT = ROOT / "scripts" / "stack.sh"
DATABASE = "essentiels_bench_stack"
SERVER_URL = "postgres://essentiels@127.0.0.1:5432"


def free_ports(count: int) -> list[int]:
    return _free_ports(count, base_variable="BENCH_STACK_PORT")


@dataclass
class Stack:
    dir: Path
    redis: RedisServer
    started_here: bool

    @property
    def config(self) -> dict[str, str]:
        """stack.env: the running stack's settings (``KEY='value'`` lines)."""
        values = {}
        for line in (self.dir / "stack.env").read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = value.strip("'")
        return values

    @property
    def url(self) -> str:
        return self.config["STACK_URL"]

    @property
    def app_ports(self) -> list[int]:
        return [int(port) for port in self.config["STACK_APP_PORTS"].split()]

    def script(self, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
        environ = {k: v for k, v in os.environ.items() if k not in LEAKS}
        environ.update(STACK_DIR=str(self.dir), **env)
        return subprocess.run(  # noqa: S603 — our own script
            [str(STACK_SCRIPT), *args],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def pid(self, name: str) -> int:
        return int((self.dir / "run" / f"{name}.pid").read_text())

    def kill(self, name: str) -> None:
        """SIGKILL a whole server (the gunicorn master and its workers, one process group)."""
        pid = self.pid(name)
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def revive(self) -> None:
        """Start what is missing (a killed server), without the database steps."""
        result = self.script("start", STACK_SETUP="0")
        if result.returncode != 0:
            raise SystemExit(f"stack.sh start failed:\n{result.stdout}{result.stderr}")

    def django_environ(self) -> None:
        """This process talks to the stack's database and Redis with its settings."""
        for key, value in self.config.items():
            if not key.startswith("STACK_"):
                os.environ[key] = value


def _psql(sql: str) -> None:
    subprocess.run(  # noqa: S603
        ["psql", f"{SERVER_URL}/postgres", "-qtAX", "-v", "ON_ERROR_STOP=1", "-c", sql],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    )


def stack_up(*, directory: Path, extra_env: dict[str, str]) -> Stack:
    """The running stack in ``directory``, or a new one with a fresh database (about two
    minutes: migrations, the demo shop, static files)."""
    directory = directory.resolve()
    redis_port_file = directory / "redis.port"
    if (directory / "stack.env").exists() and redis_port_file.exists():
        stack = Stack(
            dir=directory,
            redis=RedisServer(port=int(redis_port_file.read_text()), dir=directory),
            started_here=False,
        )
        status = stack.script("status")
        if status.returncode == 0:
            print(f"Reusing the stack running in {directory} ({stack.url})")
            return stack
        if " running " in status.stdout:
            # Partly running (a process died): bring back what is missing, and reuse it.
            stack.redis.start()
            stack.revive()
            print(f"Reusing the stack in {directory} ({stack.url}), restarted what had stopped")
            return stack
    nginx, web1, web2, web3, localstripe, redis_port = free_ports(6)
    directory.mkdir(parents=True, exist_ok=True)
    redis_port_file.write_text(str(redis_port))
    stack = Stack(
        dir=directory, redis=RedisServer(port=redis_port, dir=directory), started_here=True
    )
    stack.redis.start()
    _psql(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    print(f"Starting the stack in {directory} (database {DATABASE}; about two minutes)…")
    result = stack.script(
        "start",
        STACK_PORT=str(nginx),
        STACK_APP_PORTS=f"{web1} {web2} {web3}",
        STACK_LOCALSTRIPE_PORT=str(localstripe),
        # localstripe without its costs that grow with the store (bench/localstripe_memory.py).
        STACK_LOCALSTRIPE=f"{ROOT}/.venv/bin/python {ROOT}/bench/localstripe_memory.py",
        STACK_DATABASE_URL=f"{SERVER_URL}/{DATABASE}",
        STACK_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        STACK_SERVERS="3",
        GUNICORN_WORKERS=os.environ.get("GUNICORN_WORKERS", "2"),
        STACK_CELERY_CONCURRENCY=os.environ.get("STACK_CELERY_CONCURRENCY", "2"),
        STACK_STOP_TIMEOUT="20",
        **extra_env,
    )
    if result.returncode != 0:
        stack_down(stack)
        raise SystemExit(f"stack.sh start failed:\n{result.stdout}{result.stderr}")
    print(f"Stack up: {stack.url}")
    return stack


def stack_down(stack: Stack) -> None:
    """Stop what this run started (a reused stack stays up), then drop its database."""
    if not stack.started_here:
        return
    stack.script("stop", timeout=300)
    kill_leftovers(stack.dir)  # whatever stop left (a process that would not die)
    stack.redis.stop()
    try:
        _psql(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    except subprocess.CalledProcessError as exc:
        print(f"(could not drop {DATABASE}: {exc.stderr.strip()})")
