"""Shared set-up for benchmarks: Django on the test settings, a throw-away PostgreSQL database."""

from __future__ import annotations

import os
import platform
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essentiels.settings.test")


@contextmanager
def bench_database():
    """Create ``<db>_bench_<script>`` with every migration applied, yield, and drop it."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    # Its own database, so a benchmark never collides with a test run's test_<db>, nor with
    # another benchmark running at the same time (each is dropped at the end).
    script = Path(sys.argv[0]).stem.removeprefix("bench_") or "bench"
    connection.settings_dict["TEST"]["NAME"] = f"{old_name}_bench_{script}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
