"""The basket list and basket pages served from the shared cache (Redis in production) to
anonymous shoppers, so that a surge of browsing costs a Redis read per page, not SQL.

**Who is served from the cache.** Only a visitor to whom the page shows nothing personal: not
logged in, an empty cart, no message waiting and, on a basket page, no postcode checked (the page
then names their district's day and checks supply for their next delivery). Anyone else gets a
page rendered for them, and that page is never stored. A request whose own transaction changed
the catalogue (not committed yet) is rendered too, so it sees its own writes.

**CSRF.** The stored HTML never holds a token: it is rendered with a placeholder where the token
goes (``storefront_render``), and each response gets the visitor's own token (Django's
``get_token``: masked from their CSRF cookie, or a new cookie set on this response), so the
add-to-cart and language forms of a cached page post with a valid token, and no visitor ever
sees another's. Responses are ``Cache-Control: private``: no shared proxy may keep them.

**Key.** The release (a fingerprint of templates, translations, static files and this app's
code, so a deploy never serves the previous release's HTML), the active language, the host, the
path and only the query parameters the view reads (``?utm_source=…`` shares the entry: the view
ignores it and never echoes it). Responses vary on ``Accept-Language`` (the language is in the key;
with the language in the URL it does not change the page) and ``Cookie`` (cookies change the page
only through the personal parts above, which are never served from the cache).

**Invalidation.** Every entry records the *version tokens* of what it shows: ``all`` (the whole
storefront: categories, product classes), ``list`` (the basket list, all its filter pages), and
``basket:<product id>`` (one basket's pages). A write that changes what a page shows — a price
(stock record), a composition, a rule status or a publication, a basket, theme or component
product — calls ``storefront_pages_changed`` (the signal receivers in ``baskets.receivers`` and
the rules services do), and once its transaction commits the tokens of exactly the pages it
touched are replaced: the next request renders them again. Tokens are read *before* a page is
rendered and replaced only *after* the change is committed, so a render that raced with a change
is stored under the old token and never served. Basket pages also expire after
``STOREFRONT_BASKET_PAGE_CACHE_SECONDS`` because their supply notice follows live reservations
(checkout still re-checks supply atomically); the list after ``STOREFRONT_LIST_CACHE_SECONDS``, a
safety net for writes that send no signal (raw SQL).

When Redis is down, django-redis answers nothing (errors logged and ignored): every page is
rendered, slower but served.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language

# Rendered where the CSRF token goes in a page bound for the cache; replaced per response.
CSRF_HOLE = "storefront-csrf-hole-9b1e4c"
_TOKEN_INPUT = 'name="csrfmiddlewaretoken"'  # noqa: S105 — a field name, not a secret
CACHE_HEADER = "X-Storefront-Cache"  # hit, miss (rendered and stored) or bypass (rendered)

ALL = "all"
LIST = "list"
# Long query strings are rendered but not stored: no visitor can fill the cache at will.
MAX_QUERY_LENGTH = 200


def basket_scope(product_id: int) -> str:
    """The scope of one basket's pages (every size and language): its parent product's id."""
    return f"basket:{product_id}"


def _version_key(scope: str) -> str:
    return f"storefront:v:{scope}"


# --- Serving -------------------------------------------------------------------------------------


def storefront_render(request: HttpRequest, template: str, context: dict[str, Any]):
    """``render``, with the CSRF placeholder instead of a token when the page goes to the cache."""
    if getattr(request, "_storefront_storing", False):
        context = {**context, "csrf_token": CSRF_HOLE}
    return render(request, template, context)


def storefront_cached(
    *,
    scope: Callable[..., str],
    params: tuple[str, ...],
    seconds: str,
    district_matters: bool = False,
) -> Callable:
    """Serve the view's page from the cache to visitors for whom it is not personal.

    ``scope(**view_kwargs)`` names the version the page depends on besides ``all``; ``params``
    are the query parameters the view reads, handed to it as ``query`` (a ``QueryDict`` of only
    those); ``seconds`` names the setting giving the entries' lifetime (0 turns caching off).
    The view renders with ``storefront_render`` and only reads (it runs outside a transaction).
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            query = QueryDict(mutable=True)
            for name in params:
                values = request.GET.getlist(name)
                if values:
                    query.setlist(name, values)
            lifetime = getattr(settings, seconds)
            encoded = query.urlencode()
            if (
                lifetime <= 0
                or len(encoded) > MAX_QUERY_LENGTH
                or _uncommitted_changes()
                or page_is_personal(request, district_matters=district_matters)
            ):
                response = view(request, *args, query=query, **kwargs)
                response[CACHE_HEADER] = "bypass"
            else:
                response = _cached(request, view, args, kwargs, query, scope(**kwargs), lifetime)
            # The page holds this visitor's CSRF token: no shared cache may keep it.
            patch_cache_control(response, private=True)
            return response

        # Read-only pages: no transaction around them (ATOMIC_REQUESTS), so a page from the
        # cache costs no database round trip at all.
        return transaction.non_atomic_requests(wrapper)

    return decorator


def page_is_personal(request: HttpRequest, *, district_matters: bool = False) -> bool:
    """Whether the page shows this visitor something of their own: their account, their cart,
    a message for them, or (``district_matters``) the district of the postcode they checked."""
    from delivery.shipping import SESSION_DISTRICT_KEY

    if request.user.is_authenticated:
        return True
    # Oscar keeps an anonymous cart in a cookie; no cookie, no cart (and no query to know it).
    if settings.OSCAR_BASKET_COOKIE_OPEN in request.COOKIES and not request.basket.is_empty:
        return True
    if len(get_messages(request)):  # counted, not read: they stay for the page that shows them
        return True
    return bool(district_matters and request.session.get(SESSION_DISTRICT_KEY))


def _cached(request, view, args, kwargs, query, scope, lifetime) -> HttpResponse:
    page_key = _page_key(request, query)
    keys = [_version_key(ALL), _version_key(scope), page_key]
    found = cache.get_many(keys)  # one round trip
    versions = (found.get(keys[0]), found.get(keys[1]))
    entry = found.get(page_key)
    if entry is not None and None not in versions and entry[:2] == versions:
        response = HttpResponse(_with_token(request, entry[2]), content_type=entry[3])
        response[CACHE_HEADER] = "hit"
        return response
    # Tokens first, then the render: a change committed after this point replaces a token, so
    # what is stored below can never be served once it is out of date.
    versions = tuple(
        value or cache.get_or_set(key, secrets.token_hex(8), timeout=None)
        for value, key in zip(versions, keys[:2], strict=True)
    )
    request._storefront_storing = True
    try:
        response = view(request, *args, query=query, **kwargs)
    finally:
        request._storefront_storing = False
    response[CACHE_HEADER] = "bypass"
    if response.status_code != 200 or response.streaming or response.cookies:
        return response
    html = response.content.decode(response.charset)
    if html.count(_TOKEN_INPUT) > html.count(CSRF_HOLE):
        # A form rendered its own token (not through storefront_render): never store it.
        return response
    cache.set(page_key, (*versions, html, response["Content-Type"]), timeout=lifetime)
    response.content = _with_token(request, html)
    response[CACHE_HEADER] = "miss"
    return response


def _with_token(request: HttpRequest, html: str) -> str:
    # get_token also makes the CSRF middleware set (or refresh) the visitor's cookie.
    return html.replace(CSRF_HOLE, get_token(request)) if CSRF_HOLE in html else html


def _page_key(request: HttpRequest, query: QueryDict) -> str:
    raw = "\n".join(
        (release(), get_language(), request.get_host(), request.path, query.urlencode())
    )
    return "storefront:page:" + hashlib.sha256(raw.encode()).hexdigest()


@functools.cache
def release() -> str:
    """A fingerprint of what renders the pages besides the data: templates, translations,
    static files, this app's code and the versions of Django and Oscar. Computed once per
    process (a few milliseconds)."""
    import django
    import oscar

    base = Path(settings.BASE_DIR)
    digest = hashlib.sha256(f"{django.__version__} {oscar.VERSION}".encode())
    patterns = [
        ("templates", "**/*"),
        ("static", "**/*"),
        ("locale", "**/*.mo"),
        ("locale_oscar", "**/*.mo"),
        ("baskets", "**/*.py"),
    ]
    files = [path for folder, pattern in patterns for path in (base / folder).glob(pattern)]
    manifest = Path(str(settings.STATIC_ROOT)) / "staticfiles.json"
    if manifest.is_file():  # hashed static names, in production
        files.append(manifest)
    for path in sorted(p for p in files if p.is_file()):
        digest.update(str(path.relative_to(base) if path.is_relative_to(base) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# --- Invalidation --------------------------------------------------------------------------------


@dataclass
class _Changes:
    everything: bool = False
    baskets: set[int] = field(default_factory=set)
    variants: set[int] = field(default_factory=set)
    variant_products: set[int] = field(default_factory=set)
    themed_baskets: set[int] = field(default_factory=set)
    themes: set[int] = field(default_factory=set)
    composition_of: set[int] = field(default_factory=set)
    component_products: set[int] = field(default_factory=set)


_pending = threading.local()


def storefront_pages_changed(
    *,
    baskets: Iterable[int] = (),
    variants: Iterable[int] = (),
    variant_products: Iterable[int] = (),
    themed_baskets: Iterable[int] = (),
    themes: Iterable[int] = (),
    composition_of: Iterable[int] = (),
    component_products: Iterable[int] = (),
    everything: bool = False,
) -> None:
    """Say what a write changed; once its transaction commits, the pages showing it are rendered
    again at their next request. Costs no query here; at commit, at most two queries resolve
    everything the transaction touched to baskets.

    Shown on the list and on the basket's pages: ``baskets`` (parent product ids), ``variants``
    (ids: size, price, rule status, publication), ``variant_products`` (product ids that may be
    variants: a stock record's price), ``themed_baskets``, ``themes``. Shown on the basket's
    pages only: ``composition_of`` (variant ids whose components changed) and
    ``component_products`` (product ids that may be components: title, pack size, brand, aisle).
    ``everything``: all storefront pages (categories in the navigation, product classes).
    """
    changes = _pending.__dict__.setdefault("changes", _Changes())
    changes.everything |= everything
    changes.baskets.update(baskets)
    changes.variants.update(variants)
    changes.variant_products.update(variant_products)
    changes.themed_baskets.update(themed_baskets)
    changes.themes.update(themes)
    changes.composition_of.update(composition_of)
    changes.component_products.update(component_products)
    # One callback per write (a cheap append); the first to run after the commit takes every
    # change, the others find none. Changes of a rolled-back transaction go with the next
    # commit: an extra render, never a stale page. Outside a transaction it runs at once.
    transaction.on_commit(_flush, robust=True)


def _uncommitted_changes() -> bool:
    """Whether this thread's open transaction has written something pages show (then it must not
    read, nor fill, the cache: its own writes are not committed yet)."""
    # Django drops a rolled-back transaction's (or savepoint's) callbacks from this list.
    return any(func is _flush for _sids, func, _robust in connection.run_on_commit)


def _flush() -> None:
    changes = _pending.__dict__.pop("changes", None)
    if changes is None:
        return
    from django.db.models import Q

    listed = set(changes.baskets) | _baskets_where(
        (Q(pk__in=changes.themed_baskets), changes.themed_baskets),
        (Q(theme_id__in=changes.themes), changes.themes),
        (Q(variants__pk__in=changes.variants), changes.variants),
        (Q(variants__product_id__in=changes.variant_products), changes.variant_products),
    )
    detail = _baskets_where(
        (Q(variants__pk__in=changes.composition_of), changes.composition_of),
        (
            Q(variants__components__product_id__in=changes.component_products),
            changes.component_products,
        ),
    )
    scopes = {basket_scope(product_id) for product_id in listed | detail}
    if listed:
        scopes.add(LIST)
    if changes.everything:
        scopes.add(ALL)
    pages_invalidate(scopes=scopes)


def _baskets_where(*conditions: tuple[Any, set[int]]) -> set[int]:
    """Parent product ids of the themed baskets matching any condition whose ids are not empty
    (one query; none when all are empty)."""
    from baskets.models import ThemedBasket

    wanted = [condition for condition, ids in conditions if ids]
    if not wanted:
        return set()
    return set(
        ThemedBasket.objects.filter(functools.reduce(operator.or_, wanted))
        .values_list("product_id", flat=True)
        .distinct()
    )


def pages_invalidate(*, scopes: Iterable[str]) -> None:
    """Replace the version tokens of these scopes (``ALL``, ``LIST``, ``basket_scope(id)``): their
    pages are rendered again at their next request."""
    token = secrets.token_hex(8)
    keys = {_version_key(scope): token for scope in scopes}
    if keys:
        cache.set_many(keys, timeout=None)
