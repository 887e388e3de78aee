"""pytest and CI: the real services. PostgreSQL and Redis must answer; nothing is faked."""

from essentiels.settings._env import database, env, redis_backed, redis_url
from essentiels.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="test-only-not-secret-les-essentiels")  # noqa: S105
ALLOWED_HOSTS = ["*"]

DATABASES = {"default": database(default="postgres://essentiels@127.0.0.1:5432/essentiels")}
# Two test runs at once (say, two checkouts) each need their own test database.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or None}
REDIS_URL = redis_url(default="redis://127.0.0.1:6379/10")
globals().update(redis_backed(redis=REDIS_URL, key_prefix="essentiels-test"))

# Tasks go through the real Redis broker; tests that need them run a real worker.
CELERY_TASK_ALWAYS_EAGER = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
