"""The Content-Security-Policy: django-csp builds the header from ``CONTENT_SECURITY_POLICY``
(base.py); this module adds what must be worked out per response.

**Nonces that survive the page cache.** A nonce must be new for every response, but the
storefront serves anonymous pages from Redis (baskets.page_cache): a nonce rendered into a cached
page would be stale. So templates never print the nonce itself: ``{% csp_nonce %}``
(essentiels/templatetags/security_tags.py) prints a *placeholder*, and this middleware replaces it
in the finished body with the response's own nonce, which it also puts in the header. The
placeholder is derived from ``SECRET_KEY`` and never leaves the server (every body that holds it
passes here), so a visitor cannot write it into a page to get a script run. It has the nonce's
length, so ``Content-Length`` stays right.

**Stripe.** ``STRIPE_API_BASE`` (localstripe in dev and tests, on a port chosen at run time) is
read per response and allowed for scripts, XHR and frames; real Stripe's hosts are in base.py.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# Oscar's templates carry these inline event handlers (a "cancel" link going back, "print this
# page", closing a popup). They are constant strings, so the policy allows exactly these by hash
# ('unsafe-hashes'); a handler with any other text stays blocked.
OSCAR_INLINE_HANDLERS = (
    "window.history.go(-1);return false",
    "history.go(-1);return false",
    "javascript:history.go(-1);",
    "window.print()",
    "window.close();return false;",
)


def handler_hashes() -> list[str]:
    """CSP sources for :data:`OSCAR_INLINE_HANDLERS` ('sha256-…')."""
    digests = (hashlib.sha256(text.encode()).digest() for text in OSCAR_INLINE_HANDLERS)
    return [f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests]


@functools.lru_cache(maxsize=4)
def _placeholder(secret: str) -> str:
    digest = hmac.new(secret.encode(), b"essentiels-csp-nonce-placeholder", "sha256").digest()
    # 18 bytes give 24 base64 characters: the length of django-csp's nonces (16 bytes, padded).
    return base64.b64encode(digest[:18]).decode()


def nonce_placeholder() -> str:
    """What ``{% csp_nonce %}`` prints; replaced by the response's nonce on the way out."""
    return _placeholder(settings.SECRET_KEY)


def stripe_origin() -> str:
    """The origin of ``STRIPE_API_BASE`` (e.g. ``http://127.0.0.1:8420``), or ``""`` for real
    Stripe."""
    base = settings.STRIPE_API_BASE.strip()
    if not base:
        return ""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, filling in nonces (see the module docstring) and allowing the
    configured Stripe address."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not response.streaming and hasattr(request, "csp_nonce"):
            marker = nonce_placeholder().encode()
            body = response.content
            if marker in body:
                # Reading request.csp_nonce makes django-csp put this nonce in the header.
                response.content = body.replace(marker, str(request.csp_nonce).encode())
                if response.has_header("Content-Length"):
                    response["Content-Length"] = str(len(response.content))
        return super().process_response(request, response)

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = stripe_origin()
        if origin:
            update = dict(parts.update or {})
            for directive in ("script-src", "connect-src", "frame-src"):
                update[directive] = [*update.get(directive, ()), origin]
            parts.update = update
        return parts
