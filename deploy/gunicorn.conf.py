"""gunicorn settings shared by docker-compose and the native stack (scripts/stack.sh). Every value
can be overridden by the environment variable named beside it.

Graceful reload: ``kill -HUP <master pid>`` starts new workers (new code, this file re-read) and
lets the old ones finish the request they hold before leaving; the listening socket stays open
throughout, so no request is refused or cut (tests/stack/test_stack.py proves it under load).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: each holds at most one PostgreSQL connection (CONN_MAX_AGE), so the app servers
# hold servers × workers, and one more server's worth while one reloads. That, plus Celery, must
# stay below PostgreSQL's max_connections: scripts/stack.sh checks it before starting, and
# docker-compose.yml sets the worker count and spells the sum out.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never takes a server down.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """The app is loaded: its long-lived objects (modules, URL patterns, settings, translations)
    are moved out of the garbage collector's generations, so that the collections the requests'
    own allocations set off never walk them again (CPython's gc.freeze, for pre-loaded
    servers)."""
    import gc

    gc.freeze()
