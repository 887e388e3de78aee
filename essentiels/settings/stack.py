"""`make stack`: the production settings, served over plain HTTP on loopback.

scripts/stack.sh sets every variable production.py requires (one SECRET_KEY shared by all app
servers, the stack's database and Redis, localstripe's keys and address). Only what plain HTTP
forbids is relaxed here; everything else is production's.
"""

from essentiels.settings.production import *  # noqa: F403

# nginx listens on http://127.0.0.1: no HTTPS to redirect to, and a Secure cookie would never come
# back over plain HTTP from a load-test client (the shopper would lose their session and CSRF
# cookie at every request).
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
OSCAR_BASKET_COOKIE_SECURE = False
OSCAR_RECENTLY_VIEWED_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
# The room is put in front of the local stack only when asked (bench_stack's surge does), so
# that tests and load runs see the shop itself unless they want the room.
WAITING_ROOM_ENABLED = env.bool("WAITING_ROOM_ENABLED", default=False)  # noqa: F405
