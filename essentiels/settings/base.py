"""Settings shared by every environment. Environment-specific modules import this first."""

from __future__ import annotations

from datetime import timedelta

from csp import constants as csp
from django.utils.translation import gettext_lazy as _

from essentiels.security.csp import handler_hashes
from essentiels.settings._env import BASE_DIR, env
from essentiels.settings.oscar import *  # noqa: F403 — Oscar's defaults and our overrides

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    # Oscar, as its documentation lists it. The catalogue's config is subclassed (not forked:
    # same models and migrations) to list products from the database instead of haystack.
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "essentiels.oscar_forks.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "essentiels.oscar_forks.shipping.apps.ShippingConfig",
    "essentiels.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "essentiels.oscar_forks.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    # Oscar's third-party needs (sorl-thumbnail is missing from Oscar's own list).
    "widget_tweaks",
    "haystack",
    "treebeard",
    "sorl.thumbnail",
    "django_tables2",
    "import_export",
    # Failed logins and locks (essentiels/security/login_throttle.py); before "essentiels", whose
    # admin.py replaces axes' admin with one that can unlock.
    "axes",
    # Ours. "essentiels" holds project-wide commands (load_demo), /healthz and housekeeping tasks.
    "essentiels.apps.EssentielsConfig",
    "baskets",
    "delivery",
    "payments",
    "supply",
    "privacy",
    "waitingroom",
    # Django's own widget templates, for FORM_RENDERER below.
    "django.forms",
]

SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost but one: it sees every page (cached or not) to put the fresh nonce in it.
    "essentiels.security.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After sessions, language and auth (all lazy), before anything that reads the database.
    "waitingroom.middleware.WaitingRoomMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
    # Last, as django-axes asks: turns a locked login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "essentiels.urls"
WSGI_APPLICATION = "essentiels.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Our overrides of Oscar's templates live at the same relative path under templates/oscar/.
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "essentiels.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
                # Last: replaces Django's csrf_token (always run first) with the same token,
                # drawn in one os.urandom call instead of 64.
                "essentiels.security.csrf_token.csrf",
            ],
            # Django's {% url %} in every template, each address remembered per process.
            "builtins": ["essentiels.templatetags.remembered_urls"],
        },
    },
]

# Form widgets render through TEMPLATES, so templates/ can override a widget's template too
# (Oscar's image upload widget, for the Content-Security-Policy).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out client before any password is checked.
    "essentiels.security.login_throttle.LoginThrottleBackend",
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"

# --- Language, time, money -------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
# Our own catalogue (makemessages writes it), then our overrides of Oscar's French: its cart is
# « ma commande » because « panier » is what we sell. Both take precedence over Oscar's.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_oscar"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Storage -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
# A folder every app server shares (a volume in docker-compose); django-storages can replace it.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions live in the database with the cache in front, so any app server can serve any shopper.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Les Essentiels <bonjour@essentiels.localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where links in emails point (sent by workers, which have no request to build them from).
SHOP_BASE_URL = env.str("SHOP_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # django-redis logs the Redis errors it ignores here (a Redis outage is slower, not down).
        "django_redis": {"level": "WARNING"},
        # Oscar logs two INFO lines for every stock record saved.
        "oscar.alerts": {"level": "WARNING"},
        # Never DEBUG, whatever LOG_LEVEL says: the SDK's debug lines carry request and response
        # bodies (shoppers' emails, client secrets). INFO lines name the method and path only.
        "stripe": {"level": "INFO"},
        # axes narrates every failed login at INFO; its WARNINGs (failures, locks) stay.
        "axes": {"level": "WARNING"},
    },
}

# --- Delivery (districts, calendar, capacity) --------------------------------------------------
# Cutoff: an order can be delivered on day D until DELIVERY_CUTOFF_TIME (Paris) on D minus
# DELIVERY_CUTOFF_HOURS_BEFORE hours of wall-clock time, exclusive. With 48 and "12:00", a
# Tuesday delivery takes orders until Sunday 11:59:59; from Sunday 12:00 they go to the next
# Tuesday. Wall clock: a daylight-saving change in between moves no cutoff.
DELIVERY_CUTOFF_HOURS_BEFORE = env.int("DELIVERY_CUTOFF_HOURS_BEFORE", default=48)
DELIVERY_CUTOFF_TIME = env.str("DELIVERY_CUTOFF_TIME", default="12:00")

# Subscriptions: a declined weekly charge is tried again on the saved card this many hours after
# the 1st, 2nd… decline, as long as that is before the payment deadline: the day before delivery
# at SUBSCRIPTION_PAYMENT_DEADLINE_TIME (Paris), when an unpaid delivery is cancelled.
SUBSCRIPTION_RETRY_HOURS = env.list("SUBSCRIPTION_RETRY_HOURS", cast=int, default=[8, 20])
SUBSCRIPTION_PAYMENT_DEADLINE_TIME = env.str("SUBSCRIPTION_PAYMENT_DEADLINE_TIME", default="18:00")
# French public holidays (the holidays package) have no delivery: that week is skipped.
DELIVERY_SKIP_PUBLIC_HOLIDAYS = env.bool("DELIVERY_SKIP_PUBLIC_HOLIDAYS", default=True)
# How far ahead the shop offers dates and looks for room (booking, re-allocation).
DELIVERY_HORIZON_WEEKS = env.int("DELIVERY_HORIZON_WEEKS", default=12)
# Capacity counts baskets: order-line quantities whose product (or parent) has this class.
DELIVERY_BASKET_PRODUCT_CLASS_SLUG = "panier"
# The delivery fee is set per district, VAT included; this is the VAT rate inside it.
DELIVERY_FEE_VAT_RATE = env.str("DELIVERY_FEE_VAT_RATE", default="0.20")
# Fee shown on the cart page before the shopper gave a postcode (VAT included).
DELIVERY_DEFAULT_FEE = env.str("DELIVERY_DEFAULT_FEE", default="4.90")
# Oscar shipping method codes are this prefix + the ISO delivery date.
DELIVERY_SHIPPING_CODE_PREFIX = "livraison-"
# An order moved to one of these Oscar statuses gives its delivery places back.
DELIVERY_RELEASE_ORDER_STATUSES = ("Cancelled", "Annulée")

# --- Baskets -----------------------------------------------------------------------------------
# The most a basket may cost (cost price, excl. VAT) per person per day, in euros.
BASKET_COST_CEILING = env.str("BASKET_COST_CEILING", default="5.00")
# The storefront's reads run as server-side prepared statements on PostgreSQL (essentiels.prepared):
# off behind a pooler that moves sessions between connections (PgBouncer in transaction mode).
DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
# Anonymous shoppers get the basket list and basket pages from the cache (baskets.page_cache),
# rendered again as soon as a price, composition, rule status or publication changes. These are
# the entries' lifetimes (0: no caching): a basket page's supply notice follows live
# reservations, so it is kept a minute; the list only as a safety net.
STOREFRONT_LIST_CACHE_SECONDS = env.int("STOREFRONT_LIST_CACHE_SECONDS", default=600)
STOREFRONT_BASKET_PAGE_CACHE_SECONDS = env.int("STOREFRONT_BASKET_PAGE_CACHE_SECONDS", default=60)

from essentiels.settings.celery import *  # noqa: E402, F403

# --- Payments (Stripe) -------------------------------------------------------------------------
# Defaults talk to localstripe (a fake Stripe on loopback: `.venv/bin/localstripe --port 8420`),
# so dev and tests never reach the internet; production requires real keys (production.py).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_localstripe")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_localstripe")
# Empty means real Stripe (https://api.stripe.com).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:8420")

# --- Security (essentiels/security/) -----------------------------------------------------------
# Proxies whose X-Forwarded-For is believed (addresses or networks, or "*" when nothing but the
# proxy can reach the app servers). Empty: the peer's own address (dev, tests). nginx overwrites
# that header with the address it saw (deploy/nginx/essentiels.conf.template).
TRUSTED_PROXIES: list[str] = env.list("TRUSTED_PROXIES", default=[])

# Login throttling (django-axes; essentiels/security/login_throttle.py says why these layers):
# an (email, address) pair is locked after AXES_FAILURE_LIMIT failures, an address alone after
# LOGIN_THROTTLE_IP_FAILURE_LIMIT failures across all emails, each until AXES_COOLOFF_TIME has
# passed since its last failure. Failures live in PostgreSQL: a Redis outage changes nothing.
AXES_HANDLER = "essentiels.security.login_throttle.LoginThrottleHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_THROTTLE_FAILURE_LIMIT", default=5)
LOGIN_THROTTLE_IP_FAILURE_LIMIT = env.int("LOGIN_THROTTLE_IP_FAILURE_LIMIT", default=50)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_THROTTLE_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "essentiels.security.login_throttle.login_username"
AXES_CLIENT_IP_CALLABLE = "essentiels.security.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "essentiels.security.login_throttle.lockout_response"
# Tries made while locked are refused, not counted: the lock ends when the page said it would.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Masked in the failed attempt's stored POST data and in log lines: passwords (Oscar's form posts
# "login-password"), and emails and addresses (kept in their own columns for staff, not in logs).
AXES_PASSWORD_FORM_FIELD = "login-password"  # noqa: S105 — a field name
AXES_SENSITIVE_PARAMETERS = [
    "password",
    "login-password",
    "username",
    "login-username",
    "ip_address",
    "csrfmiddlewaretoken",
]
AXES_VERBOSE = False
# No row per successful login (addresses and browsers of every shopper): nginx logs suffice.
AXES_DISABLE_ACCESS_LOG = True

# Content-Security-Policy (django-csp; essentiels/security/csp.py adds the nonce and
# STRIPE_API_BASE per response). Stripe.js as Stripe documents it: its script from js.stripe.com,
# its frames (card fields, 3-D Secure) from js.stripe.com and hooks.stripe.com, its calls to
# api.stripe.com. Inline scripts need the response's nonce ({% csp_nonce %}); Oscar's few constant
# inline handlers are allowed by hash. Styles allow 'unsafe-inline': Oscar's templates and
# Stripe's Elements set style attributes, and injected CSS cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [
            csp.SELF,
            csp.NONCE,
            "https://js.stripe.com",
            "https://*.js.stripe.com",
            csp.UNSAFE_HASHES,
            *handler_hashes(),
        ],
        "style-src": [csp.SELF, csp.UNSAFE_INLINE],
        "img-src": [csp.SELF, "data:", "https://*.stripe.com"],
        "font-src": [csp.SELF, "data:"],
        "connect-src": [csp.SELF, "https://api.stripe.com"],
        "frame-src": [
            "https://js.stripe.com",
            "https://*.js.stripe.com",
            "https://hooks.stripe.com",
        ],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
        "base-uri": [csp.SELF],
        "object-src": [csp.NONE],
    }
}

# --- Routes (delivery.routing: fleet, stop locations, planning) ---------------------------------
# Geocoder class (dotted path). The offline default places an address at its district's commune
# point spread by a hash of the address (approximate, no network); production may use the
# national address API: "delivery.routing.geocoding.AddressApiGeocoder".
ROUTING_GEOCODER = env.str("ROUTING_GEOCODER", default="delivery.routing.geocoding.OfflineGeocoder")
# Radius (m) of the offline spread around the commune point.
ROUTING_OFFLINE_SPREAD_METRES = env.float("ROUTING_OFFLINE_SPREAD_METRES", default=700.0)
GEOCODER_API_URL = env.str("GEOCODER_API_URL", default="https://api-adresse.data.gouv.fr/search/")
GEOCODER_TIMEOUT_SECONDS = env.float("GEOCODER_TIMEOUT_SECONDS", default=3.0)
# Answers below this score (0–1), or farther than this from the district's point, are not
# trusted: the offline point is used instead.
GEOCODER_MIN_SCORE = env.float("GEOCODER_MIN_SCORE", default=0.5)
GEOCODER_MAX_DISTANCE_METRES = env.float("GEOCODER_MAX_DISTANCE_METRES", default=8000.0)
# Travel model: straight-line (haversine) distance × detour factor, driven at this average
# speed. Minutes spent at each stop (parking, stairs, hand-over).
ROUTING_SPEED_KMH = env.float("ROUTING_SPEED_KMH", default=25.0)
ROUTING_DETOUR_FACTOR = env.float("ROUTING_DETOUR_FACTOR", default=1.3)
ROUTING_SERVICE_MINUTES = env.float("ROUTING_SERVICE_MINUTES", default=2.0)
ROUTING_SERVICE_EXTRA_BASKET_MINUTES = env.float(
    "ROUTING_SERVICE_EXTRA_BASKET_MINUTES", default=0.4
)
# Solver (PyVRP) time limit per planning run, in seconds, and its random seed (reproducible).
ROUTING_SOLVER_SECONDS = env.float("ROUTING_SOLVER_SECONDS", default=20.0)
ROUTING_SOLVER_SEED = env.int("ROUTING_SOLVER_SEED", default=1)

# --- Supply (supply/: forecast, committed supply, reservations, caps) --------------------------
# Weeks the demand forecast covers, the current one first (whole Monday–Sunday weeks).
SUPPLY_FORECAST_WEEKS = env.int("SUPPLY_FORECAST_WEEKS", default=4)
# After a change (subscription, order, composition, commitment), wait this long before
# refreshing the forecast, so a burst of changes costs one refresh.
SUPPLY_REFRESH_DEBOUNCE_SECONDS = env.int("SUPPLY_REFRESH_DEBOUNCE_SECONDS", default=60)
# Refuse at checkout a sale (or a new subscription) that a coming week cannot supply.
SUPPLY_PROTECT_SALES = env.bool("SUPPLY_PROTECT_SALES", default=True)

# --- Waiting room (waitingroom/: a queue in Redis with a priority lane) -------------------------
# Off (the default): its middleware lets everything through without a Redis call. On: ops steer
# it live in the admin (on/off, admissions per minute, active shoppers, idle minutes); the
# three numbers below are its values until ops first save that form.
WAITING_ROOM_ENABLED = env.bool("WAITING_ROOM_ENABLED", default=False)
# The Redis holding the queue; empty: REDIS_URL's (the cache's) database. Without any Redis the
# room lets everybody in (and logs it).
WAITING_ROOM_REDIS_URL = env.str("WAITING_ROOM_REDIS_URL", default="")
WAITING_ROOM_ADMIT_PER_MINUTE = env.int("WAITING_ROOM_ADMIT_PER_MINUTE", default=120)
WAITING_ROOM_MAX_ACTIVE = env.int("WAITING_ROOM_MAX_ACTIVE", default=500)
WAITING_ROOM_IDLE_MINUTES = env.int("WAITING_ROOM_IDLE_MINUTES", default=20)
# The queue page reloads itself this often; a queued shopper unseen for the timeout has left
# (their place is given up; admitted but never back within it, their slot is freed).
WAITING_ROOM_REFRESH_SECONDS = env.int("WAITING_ROOM_REFRESH_SECONDS", default=20)
WAITING_ROOM_QUEUE_TIMEOUT_SECONDS = env.int("WAITING_ROOM_QUEUE_TIMEOUT_SECONDS", default=300)
# Every minute, the settings are copied to Redis again (a restarted Redis, a missed save); every
# 5 minutes (and shortly after a booking or a calendar change), each postcode's next delivery
# date and whether it is full are summed up in Redis for the queue page.
CELERY_BEAT_SCHEDULE["waitingroom-settings-mirror"] = {  # noqa: F405
    "task": "waitingroom.tasks.waiting_room_settings_mirror_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["waitingroom-delivery-fullness"] = {  # noqa: F405
    "task": "waitingroom.tasks.delivery_fullness_refresh_task",
    "schedule": 300.0,
}
