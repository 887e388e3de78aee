"""`make run`: the embedded default, needing only Python (SQLite, local memory, eager tasks)."""

from essentiels.settings._env import BASE_DIR, database, env
from essentiels.settings.base import *  # noqa: F403

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-not-secret-les-essentiels")  # noqa: S105
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

DATABASES = {"default": database(default=f"sqlite:///{BASE_DIR / 'var' / 'dev.sqlite3'}")}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Explicitly eager: tasks run inline in the web process, no broker needed for the demo.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"

# The supply forecast and its reservations are PostgreSQL SQL (sums, row locks): the embedded
# demo sells without them. The full stack (`make stack`/PostgreSQL) protects sales.
SUPPLY_PROTECT_SALES = False
