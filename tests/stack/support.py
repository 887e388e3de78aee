"""What the stack's tests (tests/stack/conftest.py) and benchmarks (bench/_stack.py) both need to
run ``scripts/stack.sh`` on loopback: free ports, the environment that must not leak into the
stack's processes, whether a process is alive."""

from __future__ import annotations

import os
import socket
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
