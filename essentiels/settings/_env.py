"""Reading configuration from the environment, failing at boot with one clear line.

A deployment with a malformed ``DATABASE_URL`` or without ``SECRET_KEY`` must not start, and the
operator must see *which variable* is wrong rather than a traceback. ``SystemExit`` with a message
prints exactly that line on stderr and exits with status 1, in manage.py, gunicorn and Celery alike.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import environ

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parents[2]

# A developer's optional .env file; real deployments set real environment variables.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)


def config_error(variable: str, problem: str) -> SystemExit:
    return SystemExit(f"Configuration error: {variable} {problem}")


def required_str(variable: str) -> str:
    value = env.str(variable, default="").strip()
    if not value:
        raise config_error(variable, "is required and is not set.")
    return value


_DB_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


def database(variable: str = "DATABASE_URL", *, default: str | None = None) -> dict:
    """A Django DATABASES entry from a URL such as postgres://user@127.0.0.1:5432/essentiels."""
    raw = env.str(variable, default=default or "").strip()
    if not raw:
        raise config_error(
            variable, "is required and is not set (e.g. postgres://user@host:5432/db)."
        )
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a non-numeric port
    except ValueError as exc:
        raise config_error(variable, f"is malformed ({exc}).") from None
    if parts.scheme not in _DB_SCHEMES:
        raise config_error(
            variable, f"has an unsupported scheme {parts.scheme!r}: use postgres:// or sqlite://."
        )
    if parts.scheme != "sqlite" and (not parts.hostname or not parts.path.strip("/")):
        raise config_error(
            variable, "must name a host and a database (postgres://user@host:5432/db)."
        )
    del port
    config = environ.Env.db_url_config(raw)
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Reuse connections across requests, bounded by gunicorn's worker count; checked before use
        # so a restarted PostgreSQL costs one reconnect, not an error page.
        config["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    config["ATOMIC_REQUESTS"] = True
    return config


_REDIS_SCHEMES = {"redis", "rediss", "unix"}


def redis_url(variable: str = "REDIS_URL", *, default: str | None = None) -> str:
    raw = env.str(variable, default=default or "").strip()
    if not raw:
        raise config_error(variable, "is required and is not set (e.g. redis://127.0.0.1:6379/0).")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 — validates the port
    except ValueError as exc:
        raise config_error(variable, f"is malformed ({exc}).") from None
    if parts.scheme not in _REDIS_SCHEMES:
        raise config_error(variable, f"has an unsupported scheme {parts.scheme!r}: use redis://.")
    if parts.scheme != "unix" and not parts.hostname:
        raise config_error(variable, "must name a host (redis://host:6379/0).")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise config_error(variable, f"has a database index {db!r} that is not a number.")
    return raw


def redis_db_url(base_url: str, db: int) -> str:
    """The same Redis server with another logical database (cache, broker and results apart)."""
    parts = urlsplit(base_url)
    return parts._replace(path=f"/{db}").geturl()


def redis_backed(*, redis: str, key_prefix: str) -> dict:
    """Cache (django-redis) and Celery broker/results on one Redis server, in separate databases.

    The cache uses the database of ``REDIS_URL``; Celery uses the next one (or
    ``CELERY_BROKER_URL``), so flushing the cache never drops queued tasks.
    """
    cache_db = urlsplit(redis).path.strip("/")
    cache_db_index = int(cache_db) if cache_db else 0
    broker = env.str("CELERY_BROKER_URL", default="") or redis_db_url(redis, cache_db_index + 1)
    return {
        "CACHES": {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": redis,
                "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default=key_prefix),
                # A Redis outage degrades to slower pages (logged), never to error pages.
                "OPTIONS": {
                    "IGNORE_EXCEPTIONS": True,
                    "SOCKET_CONNECT_TIMEOUT": 2,
                    "SOCKET_TIMEOUT": 2,
                },
            }
        },
        "DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS": True,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
    }
