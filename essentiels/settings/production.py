"""Production: every secret and service address comes from the environment, with no default.

Served over HTTPS behind a proxy (nginx) that sets X-Forwarded-Proto; ``manage.py check --deploy``
prints no warnings with real values.
"""

from essentiels.settings._env import database, env, redis_backed, redis_url, required_str
from essentiels.settings.base import *  # noqa: F403

SECRET_KEY = required_str("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise SystemExit("Configuration error: ALLOWED_HOSTS is required (comma-separated host names).")

DATABASES = {"default": database()}
REDIS_URL = redis_url()
globals().update(redis_backed(redis=REDIS_URL, key_prefix="essentiels"))
CELERY_TASK_ALWAYS_EAGER = False

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names, so whitenoise (or nginx) can cache static files forever.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS terminates at the proxy; trust its X-Forwarded-Proto (nginx overwrites it, never appends).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The load balancer probes over plain HTTP on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The CSRF cookie stays readable by scripts: Oscar's dashboard reads it for its AJAX calls, and
# Django's documentation notes that HttpOnly brings it no real protection.
# Oscar's cart and recently-viewed cookies, and the language cookie: HTTPS only, like the session.
OSCAR_BASKET_COOKIE_SECURE = True
OSCAR_RECENTLY_VIEWED_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

# Login throttling counts the client's address from X-Forwarded-For only when the request comes
# from these (nginx on the same machine by default; docker-compose sets "*": only nginx reaches
# the app servers there).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=["127.0.0.1", "::1"])

# Stripe: real keys, no default (base.py's defaults point at localstripe). STRIPE_API_BASE
# stays empty (real Stripe) unless set.
STRIPE_SECRET_KEY = required_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = required_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = required_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)

# The waiting room stands in front of the shop (ops steer it live in the admin; with the default
# limits it only queues beyond 500 active shoppers or 120 newcomers a minute).
WAITING_ROOM_ENABLED = env.bool("WAITING_ROOM_ENABLED", default=True)
