"""Settings load in every mode; bad configuration stops start-up with one line naming it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL_SECRET = "x7Gk2pQ9vLw4Zr8sT1yB6nM3cF5hJ0dA-production-like-secret-key-for-tests"

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "essentiels.settings.production",
    "SECRET_KEY": REAL_SECRET,
    "DATABASE_URL": "postgres://essentiels@127.0.0.1:5432/essentiels",
    "REDIS_URL": "redis://127.0.0.1:6379/10",
    "ALLOWED_HOSTS": "shop.example.fr",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.fr",
    "STRIPE_SECRET_KEY": "sk_test_production-like-secret",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_production-like",
    "STRIPE_WEBHOOK_SECRET": "whsec_production-like",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # Nothing from the test process leaks in (e.g. the browser fixture's async flag).
    leaks = {*PRODUCTION_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    clean = {k: v for k, v in os.environ.items() if k not in leaks}
    return subprocess.run(  # noqa: S603 — our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SHOW = (
    "from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
    "s.CELERY_TASK_ALWAYS_EAGER, s.LANGUAGE_CODE, s.TIME_ZONE, s.OSCAR_DEFAULT_CURRENCY)"
)


def test_dev_settings_are_the_embedded_default():
    # when the dev settings load with no environment at all
    result = manage(
        "shell", "-v0", "-c", SHOW, env={"DJANGO_SETTINGS_MODULE": "essentiels.settings.dev"}
    )
    # then they use SQLite, local memory and eager tasks, in French, Paris time, euros
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
        "fr",
        "Europe/Paris",
        "EUR",
    ]


def test_production_settings_use_postgres_and_redis():
    result = manage("shell", "-v0", "-c", SHOW, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == [
        "django.db.backends.postgresql",
        "django_redis.cache.RedisCache",
        "False",
    ]


@pytest.mark.slow
def test_check_deploy_prints_no_warning_with_real_values():
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SECRET_KEY", "", "Configuration error: SECRET_KEY is required"),
        (
            "DATABASE_URL",
            "postgres://db.internal:not-a-port/shop",
            "Configuration error: DATABASE_URL",
        ),
        ("DATABASE_URL", "mysql://db.internal/shop", "Configuration error: DATABASE_URL"),
        ("DATABASE_URL", "", "Configuration error: DATABASE_URL is required"),
        ("REDIS_URL", "http://cache.internal:6379/0", "Configuration error: REDIS_URL"),
        ("REDIS_URL", "redis://cache.internal:port/0", "Configuration error: REDIS_URL"),
        ("REDIS_URL", "redis://cache.internal:6379/zero", "Configuration error: REDIS_URL"),
    ],
)
def test_bad_configuration_stops_with_one_line_naming_the_variable(variable, value, expected):
    # given production settings with one variable wrong or missing
    env = {**PRODUCTION_ENV, variable: value}
    # when the project starts
    result = manage("check", env=env)
    # then it stops with exactly one line, naming the variable, and no traceback
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected)
    assert "Traceback" not in result.stderr
