"""The door: every request of a non-staff visitor goes through the waiting room.

Cheap for admitted shoppers: verifying the signed cookie and one Redis round trip (the admission
script), no database query. A visitor who must wait is sent to the queue page (browsers) or
gets ``429`` with ``Retry-After`` and a small JSON body (API clients: ``Accept:
application/json`` or ``X-Requested-With``). Never queued: the health probe, Stripe's webhooks,
static and media files, the admin (its login included), the shoppers' login page (a shopper
flagged by customer care signs in there to skip the queue), the language switch and the queue
pages themselves. With ``WAITING_ROOM_ENABLED`` off, nothing happens at all.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers

from waitingroom.gate import CHANGED_ATTR, REQUEST_ATTR, gate_check
from waitingroom.tokens import token_set_cookie

logger = logging.getLogger("waitingroom")

NEXT_PARAM = "suite"


@functools.cache
def exempt_prefixes() -> tuple[str, ...]:
    """Paths never queued, in every language of the site (reversed once per process)."""
    prefixes = {settings.STATIC_URL, settings.MEDIA_URL, "/favicon.ico", "/robots.txt"}
    for name in ("healthz", "payments:stripe-webhook", "set_language"):
        try:
            prefixes.add(reverse(name))
        except NoReverseMatch:
            logger.warning("waiting room: no URL named %s to exempt", name)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for name in ("admin:index", "customer:login", "waitingroom:queue"):
                try:
                    prefixes.add(reverse(name))
                except NoReverseMatch:
                    logger.warning("waiting room: no URL named %s to exempt", name)
    return tuple(sorted(p for p in prefixes if p and p.startswith("/")))


def is_exempt(path: str) -> bool:
    return path.startswith(exempt_prefixes())


def wants_json(request: HttpRequest) -> bool:
    if request.headers.get("X-Requested-With"):
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def queue_url(request: HttpRequest) -> str:
    """The queue page, remembering where the visitor was going (a GET URL on this site)."""
    if request.method in ("GET", "HEAD"):
        target = request.get_full_path()
    else:
        # A form posted by a visitor who is not admitted (any more) cannot be replayed.
        target = request.path
    return f"{reverse('waitingroom:queue')}?{urlencode({NEXT_PARAM: target})}"


def queued_json(decision, *, queue_page: str) -> JsonResponse:
    retry_after = settings.WAITING_ROOM_REFRESH_SECONDS
    response = JsonResponse(
        {
            "status": "queued",
            "position": decision.position,
            "lane": decision.lane,
            "estimated_wait_seconds": decision.estimated_wait_seconds,
            "retry_after": retry_after,
            "queue_url": queue_page,
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def with_token_cookie(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    token = getattr(request, REQUEST_ATTR, None)
    if token is not None and getattr(request, CHANGED_ATTR, False):
        token_set_cookie(response, token)
    return response


class WaitingRoomMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.WAITING_ROOM_ENABLED or is_exempt(request.path_info):
            return self.get_response(request)
        answer = gate_check(request, newcomer_needs_token=True)
        if answer.is_admitted:
            response = self.get_response(request)
        else:
            page = queue_url(request)
            if wants_json(request):
                response = queued_json(answer.decision, queue_page=page)
            else:
                response = HttpResponseRedirect(page)
            response["X-Waiting-Room"] = "queued"
            add_never_cache_headers(response)
        return with_token_cookie(request, response)
