"""What the stack's tests (tests/stack/conftest.py) and benchmarks (bench/_stack.py) both need to
run ``scripts/stack.sh`` on loopback: free ports, the environment that must not leak into the
stack's processes, whether a process is alive, a redis-server of the stack's own, and the
cleanup of what ``stack.sh stop`` left."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# The caller's own configuration must not reach the stack's processes.
LEAKS = frozenset(
    {
        "DJANGO_SETTINGS_MODULE",
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "SECRET_KEY",
        "TEST_DATABASE_NAME",
        "CACHE_KEY_PREFIX",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "PYTEST_CURRENT_TEST",
    }
)


def free_ports(count: int, *, base_variable: str) -> list[int]:
    """``count`` loopback ports: consecutive from ``$base_variable`` when it is set, else free
    ones from the kernel."""
    base = os.environ.get(base_variable)
    if base:
        return [int(base) + i for i in range(count)]
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@dataclass
class RedisServer:
    """A redis-server of the stack's own (no persistence): stopping it is the Redis outage.
    Daemonised, its pid in ``dir/redis.pid``: a benchmark's kept stack finds it running again."""

    port: int
    dir: Path
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def pid_file(self) -> Path:
        return self.dir / "redis.pid"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if process_alive(pid) else None

    def start(self) -> None:
        import redis

        if self.pid():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / "redis.log").open("a") as log:
            self._process = subprocess.Popen(  # noqa: S603
                [
                    shutil.which("redis-server") or "redis-server",
                    *("--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.dir)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(self._process.pid))
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
            self.pid_file.unlink(missing_ok=True)
        if self._process is not None:
            self._process.wait(timeout=10)  # started by this process: reaped
            self._process = None


def kill_leftovers(stack_dir: Path) -> None:
    """After ``stack.sh stop``: kill the process group of any process from a pid file that is
    still alive and still ours — by stack.sh's own rule (``ours``): its environment carries
    ``ESSENTIELS_STACK=<stack_dir>``, or (nginx rewrites its environment) its command line
    names the folder. A pid since reused by another program is left alone."""
    stack_dir = stack_dir.resolve()  # as stack.sh writes it (realpath)
    for pid_file in (stack_dir / "run").glob("*.pid"):
        try:
            pid = int(pid_file.read_text())
            proc = Path(f"/proc/{pid}")
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except (ValueError, FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        marked = f"ESSENTIELS_STACK={stack_dir}".encode() in environ
        if (marked or f"{stack_dir}/".encode() in cmdline) and process_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
