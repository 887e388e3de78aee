"""The basket list and basket pages served from the shared cache (Redis in production), so
that a surge of browsing costs a Redis read per page, not SQL and template rendering.

**Shell and page.** A page is rendered once into a *shell*: the page with a marker wherever a
part belongs to the visitor — account links and language form, cart, messages
(``{% storefront_hole %}`` in ``templates/baskets/storefront_layout.html``). A visitor to whom
the page shows nothing of their own (not logged in, an empty cart, no message waiting: most of a
surge) gets the *page*: the shell with those parts as all such visitors see them, stored too and
served in one Redis read. Anyone else gets the shell with their own kinds of parts rendered for
them — a shopper with a cart gets their cart, a logged-in one their account, cart and messages —
and the other parts as everyone sees them: never someone else's. A basket page shows the
district of the postcode the visitor checked (its delivery day, its supply): the district is in
its key. A request whose own transaction changed the catalogue (not committed yet) is rendered
in full, so that it sees its own writes; so is every page when its lifetime setting is 0.

**CSRF.** The stored HTML never holds a token: it is rendered with a placeholder where the token
goes (``storefront_render``), and each response gets the visitor's own token (as Django's
``get_token``: masked from their CSRF cookie, or a new cookie set on this response), so the
add-to-cart and language forms of a cached page post with a valid token, and no visitor ever
sees another's. Responses are ``Cache-Control: private``: no shared proxy may keep them.

**Key.** The release (a fingerprint of templates, translations, static files and this app's
code, so a deploy never serves the previous release's HTML), the active language, the host, the
path, only the query parameters the view reads (``?utm_source=…`` shares the entry: the view
ignores it and never echoes it) and, for a basket page, the checked district. Responses vary on
``Accept-Language`` (the language is in the key; with the language in the URL it does not change
the page) and ``Cookie`` (cookies change the page only through the visitor's own parts, rendered
for each visitor, and the district, in the key).

**Invalidation.** Every shell and page records the *version tokens* of what it shows: ``all``
(the whole storefront: categories, product classes), ``list`` (the basket list, all its filter
pages), and ``basket:<product id>`` (one basket's pages). A write that changes what a page
shows — a price (stock record), a composition, a rule status or a publication, a basket, theme
or component product — calls ``storefront_pages_changed`` (the signal receivers in
``baskets.receivers`` and the rules services do), and once its transaction commits the tokens of
exactly the pages it touched are replaced: the next request renders them again. Tokens are read
*before* a page is rendered and replaced only *after* the change is committed, so a render that
raced with a change is stored under the old token and never served. Basket pages also expire
after ``STOREFRONT_BASKET_PAGE_CACHE_SECONDS`` because their supply notice follows live
reservations (checkout still re-checks supply atomically); the list after
``STOREFRONT_LIST_CACHE_SECONDS``, a safety net for writes that send no signal (raw SQL).

**Copies in each process.** A page from the cache costs one Redis round trip for its version
tokens; each app server process keeps a copy of the pages it served last (``_LocalPages``) and
fetches a page from Redis only when its copy is not of the current tokens (or would have
expired in Redis by now).

When Redis is down, django-redis answers nothing (errors logged and ignored): every page is
rendered, slower but served.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import operator
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django_redis.client import DefaultClient
from redis.exceptions import RedisError

from essentiels.security.csrf_token import csrf_token

logger = logging.getLogger(__name__)

# Rendered where the CSRF token goes in a page bound for the cache; replaced per response.
CSRF_HOLE = "storefront-csrf-hole-9b1e4c"
_TOKEN_INPUT = 'name="csrfmiddlewaretoken"'  # noqa: S105 — a field name, not a secret
# hit (the page from the cache), shell (the cached shell with the visitor's own parts), miss
# (rendered, and stored) or bypass (rendered, not stored).
CACHE_HEADER = "X-Storefront-Cache"

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

_MARK = "9b1e4c"  # makes the markers below unlike anything a page would otherwise contain
_HOLE = re.compile(rf"<!--storefront-hole {_MARK} (\w+) ([^>]+?)-->")
_SPLIT = f"<!--storefront-split {_MARK}-->"
# What a visitor may have of their own; each hole shows one of them (its "kind").
ACCOUNT, CART, MESSAGES = "account", "cart", "messages"
_EVERYTHING = frozenset({ACCOUNT, CART, MESSAGES})

Hole = tuple[str, str]  # (kind, template name)


def hole_marker(kind: str, template_name: str) -> str:
    return f"<!--storefront-hole {_MARK} {kind} {template_name}-->"


def storefront_render(request: HttpRequest, template: str, context: dict[str, Any]):
    """``render``; for the cache, with a placeholder instead of the CSRF token and a marker
    instead of each part that belongs to the visitor (``{% storefront_hole %}``)."""
    if getattr(request, "_storefront_shell", False):
        context = {**context, "csrf_token": CSRF_HOLE, "storefront_shell": True}
    return render(request, template, context)


def storefront_cached(
    *,
    scope: Callable[..., str],
    params: tuple[str, ...],
    seconds: str,
    district_matters: bool = False,
) -> Callable:
    """Serve the view's page from the cache.

    ``scope(**view_kwargs)`` names the version the page depends on besides ``all``; ``params``
    are the query parameters the view reads, handed to it as ``query`` (a ``QueryDict`` of only
    those); ``seconds`` names the setting giving the entries' lifetime (0 turns caching off);
    ``district_matters``: the page shows the district of the postcode the visitor checked. The
    view renders with ``storefront_render`` and only reads (it runs outside a transaction).
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
            if lifetime <= 0 or len(query.urlencode()) > MAX_QUERY_LENGTH or _uncommitted_changes():
                response = view(request, *args, query=query, **kwargs)
                response[CACHE_HEADER] = "bypass"
            else:
                page = _Page(
                    request=request,
                    view=functools.partial(view, request, *args, query=query, **kwargs),
                    key=_page_key(request, query, district_matters),
                    scope=scope(**kwargs),
                    lifetime=lifetime,
                )
                response = page.serve()
            # The page holds this visitor's CSRF token: no shared cache may keep it.
            patch_cache_control(response, private=True)
            return response

        # Read-only pages: no transaction around them (ATOMIC_REQUESTS), so a page from the
        # cache costs no database round trip at all.
        return transaction.non_atomic_requests(wrapper)

    return decorator


def visitor_parts(request: HttpRequest) -> frozenset[str]:
    """What the page shows this visitor of their own: ``ACCOUNT`` (logged in: then their cart
    and messages too), ``CART`` (a non-empty cart), ``MESSAGES``; empty for most visitors."""
    cookies = request.COOKIES
    if not any(name in cookies for name in _personal_cookies()):
        return frozenset()  # a visitor without these cookies has none of them: no need to look
    if request.user.is_authenticated:
        return _EVERYTHING
    parts = set()
    # Oscar keeps an anonymous cart in a cookie; no cookie, no cart (and no query to know it).
    if settings.OSCAR_BASKET_COOKIE_OPEN in cookies and not request.basket.is_empty:
        parts.add(CART)
    if len(get_messages(request)):  # counted, not read: they stay for their page
        parts.add(MESSAGES)
    return frozenset(parts)


@functools.cache
def _personal_cookies() -> tuple[str, ...]:
    from django.contrib.messages.storage.cookie import CookieStorage

    return (
        settings.SESSION_COOKIE_NAME,
        CookieStorage.cookie_name,
        settings.OSCAR_BASKET_COOKIE_OPEN,
    )


@dataclass
class _Page:
    """One request for a cached page. Two entries per page: the *shell* (the page with markers
    where the visitor's parts go, and those parts as a visitor with nothing of their own sees
    them) and, for such visitors, the *page* (the shell filled with them). Both hold the CSRF
    placeholder. Another visitor gets the shell with only their own kinds of parts rendered for
    them (a shopper with a cart: the cart; logged in: everything)."""

    request: HttpRequest
    view: Callable[[], HttpResponse]
    key: str
    scope: str
    lifetime: int

    def serve(self) -> HttpResponse:
        parts = visitor_parts(self.request)
        personal = bool(parts)
        version_keys = [_version_key(ALL), _version_key(self.scope)]
        wanted = f"{self.key}:{'shell' if personal else 'page'}"
        if personal:
            found = cache.get_many([*version_keys, wanted])  # one round trip
            versions = (found.get(version_keys[0]), found.get(version_keys[1]))
            entry = _current(found.get(wanted), versions)
        else:
            # The page's current version tokens (a few bytes from Redis); the page itself from
            # this process's copy when it has the current one, else from Redis.
            found = _cached_many(version_keys)
            versions = (found.get(version_keys[0]), found.get(version_keys[1]))
            entry = _local_pages.get(wanted, versions)
            if entry is None:
                entry = _current(cache.get(wanted), versions)
                if entry is not None:
                    # Kept encoded: the response's bytes, without encoding 30 KB each time.
                    entry = (*entry[:2], entry[2].encode(), *entry[3:])
                    _local_pages.put(wanted, entry)
            if entry is not None:
                return self._respond(entry[2], entry[3], "hit")
        # Tokens first, then the render: a change committed after this point replaces a token,
        # so what is stored below can never be served once it is out of date.
        versions = tuple(
            value or cache.get_or_set(key, secrets.token_hex(8), timeout=None)
            for value, key in zip(versions, version_keys, strict=True)
        )
        source = "shell"
        shell = entry if personal else _current(cache.get(f"{self.key}:shell"), versions)
        if shell is None:
            rendered = self._render_shell()
            if isinstance(rendered, HttpResponse):
                return rendered
            shell = (*versions, *rendered, None)
            cache.set(f"{self.key}:shell", shell, timeout=self.lifetime)
            source = "miss"
        _v1, _v2, html, content_type, holes, common = shell
        if personal and common is not None:
            # Only the visitor's own kinds of parts are rendered; the others are everyone's.
            own = _holes_rendered(self.request, [hole for hole in holes if hole[0] in parts])
            filled = {**common, **own}
        else:
            filled = _holes_rendered(self.request, holes)
        page = _holes_filled(html, filled)
        if not personal:
            page = _squeezed(page)
            expires = time.time() + self.lifetime
            cache.set(
                f"{self.key}:page", (*versions, page, content_type, expires), timeout=self.lifetime
            )
            if common is None:
                shell = (*versions, html, content_type, holes, filled)
                cache.set(f"{self.key}:shell", shell, timeout=self.lifetime)
        return self._respond(page, content_type, source)

    def _render_shell(self) -> tuple[str, str, tuple[str, ...]] | HttpResponse:
        """``(html, content type, hole names)``, or the view's response when it is not a page to
        store (a redirect; a form that rendered its own token)."""
        self.request._storefront_shell = True
        try:
            response = self.view()
        finally:
            self.request._storefront_shell = False
        response[CACHE_HEADER] = "bypass"
        if response.status_code != 200 or response.streaming or response.cookies:
            return response
        html = _squeezed(response.content.decode(response.charset))
        holes = tuple(dict.fromkeys(_HOLE.findall(html)))
        if html.count(_TOKEN_INPUT) > html.count(CSRF_HOLE):
            # A form rendered its own token (not through storefront_render): never store it.
            filled = _holes_filled(html, _holes_rendered(self.request, holes))
            response.content = _with_token(self.request, filled)
            return response
        return html, response["Content-Type"], holes

    def _respond(self, html: str | bytes, content_type: str, source: str) -> HttpResponse:
        response = HttpResponse(_with_token(self.request, html), content_type=content_type)
        response[CACHE_HEADER] = source
        return response


class _LocalPages:
    """The pages this process served last, each as it came from Redis with its version tokens
    and expiry: a page from the cache then costs one Redis round trip for its tokens (a few
    bytes) instead of the whole page (30 KB to read and unpickle). A copy is served only while
    its tokens are the current ones — read from Redis on every request, so invalidation stays
    exact across servers — and never after its Redis entry would have expired."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str, versions: tuple) -> tuple | None:
        with self.lock:
            entry = _current(self.entries.get(key), versions)
            if entry is None or entry[4] <= time.time():
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


# Pages are ~30 KB: 256 of them, the list's filter pages and the busiest baskets, take ~8 MB.
_local_pages = _LocalPages(size=256)


_INDENT = re.compile(r"\n\s+")


def _squeezed(html: str) -> str:
    """The page without its templates' indentation (an eighth of its bytes), unless it holds
    text whose spaces show (``<pre>``, ``<textarea>``)."""
    if "<pre" in html or "<textarea" in html:
        return html
    return _INDENT.sub("\n", html)


def _current(entry: tuple | None, versions: tuple) -> tuple | None:
    """The entry if it was made with the current version tokens."""
    if entry is None or None in versions or entry[:2] != versions:
        return None
    return entry


def _holes_rendered(request: HttpRequest, holes) -> dict[Hole, str]:
    """Each hole's template rendered for this visitor, in one render (CSRF placeholder kept)."""
    holes = tuple(holes)
    if not holes:
        return {}
    parts = _holes_template(holes).render({"csrf_token": CSRF_HOLE}, request).split(_SPLIT)
    return dict(zip(holes, parts, strict=True))


def _holes_filled(html: str, rendered: dict[Hole, str]) -> str:
    for (kind, name), part in rendered.items():
        html = html.replace(hole_marker(kind, name), part)
    return html


@functools.cache
def _holes_template(holes: tuple[Hole, ...]):
    from django.template import engines

    source = _SPLIT.join('{% include "' + name + '" %}' for _kind, name in holes)
    return engines["django"].from_string(source)


def _cached_many(keys: list[str]) -> dict[str, Any]:
    """``cache.get_many(keys)``: with django-redis, one MGET on its client without its wrappers
    (~20 µs less for every page from the cache, which reads its version tokens first), errors
    logged and ignored as it ignores them (``IGNORE_EXCEPTIONS``): Redis down, pages are
    rendered. Any other cache: its own ``get_many``."""
    client = getattr(cache, "client", None)
    if not isinstance(client, DefaultClient):
        return cache.get_many(keys)
    try:
        values = client.get_client(write=False).mget([client.make_key(key) for key in keys])
    except (RedisError, OSError):
        if not cache._ignore_exceptions:
            raise
        logger.warning("Redis unreachable: storefront page rendered", exc_info=True)
        return {}
    return {
        key: client.decode(value)
        for key, value in zip(keys, values, strict=True)
        if value is not None
    }


_CSRF_HOLE_BYTES = CSRF_HOLE.encode()


def _with_token(request: HttpRequest, html: str | bytes) -> str | bytes:
    # As Django's get_token (cheaper): also makes the CSRF middleware set or renew the cookie.
    if isinstance(html, bytes):
        if _CSRF_HOLE_BYTES in html:
            return html.replace(_CSRF_HOLE_BYTES, csrf_token(request).encode())
        return html
    return html.replace(CSRF_HOLE, csrf_token(request)) if CSRF_HOLE in html else html


def _page_key(request: HttpRequest, query: QueryDict, district_matters: bool) -> str:
    district = ""
    if district_matters and settings.SESSION_COOKIE_NAME in request.COOKIES:
        from delivery.shipping import SESSION_DISTRICT_KEY

        district = str(request.session.get(SESSION_DISTRICT_KEY) or "")
    raw = "\n".join(
        (release(), get_language(), request.get_host(), request.path, query.urlencode(), district)
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
