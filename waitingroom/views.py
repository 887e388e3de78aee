"""The queue page (light: no database query), the priority code form, and ops' status JSON."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST, require_safe

from delivery.postcodes import postcode_normalise
from waitingroom.admission import admission_visit, room_status
from waitingroom.fullness import delivery_fullness_lookup
from waitingroom.gate import gate_check, token_remember, visitor_token
from waitingroom.middleware import NEXT_PARAM, queued_json, wants_json, with_token_cookie
from waitingroom.priority import PriorityCodeError, priority_code_redeem
from waitingroom.tokens import CODE, NORMAL

POSTCODE_PARAM = "code_postal"


def _next_url(request: HttpRequest, raw: str | None) -> str:
    """Where to send the visitor once admitted: a path on this site, never the queue itself."""
    queue = reverse("waitingroom:queue")
    if (
        raw
        and raw.startswith("/")
        and not raw.startswith(queue)
        and url_has_allowed_host_and_scheme(
            raw, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return raw
    return "/"


def _queue_page(
    request: HttpRequest, *, decision, next_url: str, code_error: str = "", status: int = 200
) -> HttpResponse:
    raw_postcode = request.GET.get(POSTCODE_PARAM, "").strip()[:20]
    postcode = postcode_normalise(raw_postcode) if raw_postcode else None
    wait = decision.estimated_wait_seconds
    query = {NEXT_PARAM: next_url}
    if raw_postcode:
        query[POSTCODE_PARAM] = raw_postcode
    refresh_url = f"{reverse('waitingroom:queue')}?{urlencode(query)}"
    context = {
        "decision": decision,
        "wait_minutes": None if wait is None else max(1, -(-wait // 60)),
        "refresh_seconds": settings.WAITING_ROOM_REFRESH_SECONDS,
        "timeout_minutes": max(1, settings.WAITING_ROOM_QUEUE_TIMEOUT_SECONDS // 60),
        "next_url": next_url,
        "refresh_url": refresh_url,
        "postcode_param": POSTCODE_PARAM,
        "postcode_typed": raw_postcode,
        "postcode_malformed": bool(raw_postcode) and postcode is None,
        "fullness": delivery_fullness_lookup(postcode=postcode) if postcode else None,
        "code_error": code_error,
        "csrf_token": get_token(request),
        "login_url": f"{reverse('customer:login')}?{urlencode({'next': refresh_url})}",
        "language": get_language(),
    }
    # No request context: the context processors (cart, notifications) would read the database.
    response = HttpResponse(render_to_string("waitingroom/queue.html", context), status=status)
    response["X-Waiting-Room"] = "queued"
    add_never_cache_headers(response)
    return response


@transaction.non_atomic_requests
@require_safe
def queue_page(request: HttpRequest) -> HttpResponse:
    """Position and estimated wait, refreshing itself; admitted, the visitor goes on."""
    next_url = _next_url(request, request.GET.get(NEXT_PARAM))
    if not settings.WAITING_ROOM_ENABLED:
        return HttpResponseRedirect(next_url)
    answer = gate_check(request)
    if answer.is_admitted:
        if wants_json(request):
            response = JsonResponse({"status": "admitted", "next": next_url})
        else:
            response = HttpResponseRedirect(next_url)
        add_never_cache_headers(response)
    elif wants_json(request):
        response = queued_json(answer.decision, queue_page=request.get_full_path())
    else:
        response = _queue_page(request, decision=answer.decision, next_url=next_url)
    return with_token_cookie(request, response)


@transaction.non_atomic_requests
@require_POST
def priority_code_page(request: HttpRequest) -> HttpResponse:
    """A priority code entered on the queue page: the visitor moves to the priority lane."""
    next_url = _next_url(request, request.POST.get(NEXT_PARAM))
    token = visitor_token(request)
    try:
        priority_code_redeem(code=request.POST.get("code", ""), visitor=token.visitor)
    except PriorityCodeError as exc:
        answer = gate_check(request)
        if answer.is_admitted:
            return with_token_cookie(request, HttpResponseRedirect(next_url))
        response = _queue_page(
            request, decision=answer.decision, next_url=next_url, code_error=str(exc), status=400
        )
        return with_token_cookie(request, response)
    if token.kind == NORMAL:
        token_remember(request, replace(token, kind=CODE))
    if settings.WAITING_ROOM_ENABLED:
        admission_visit(visitor=token.visitor, priority=True)
    queue = f"{reverse('waitingroom:queue')}?{urlencode({NEXT_PARAM: next_url})}"
    return with_token_cookie(request, HttpResponseRedirect(queue, status=303))


@require_GET
def room_status_page(request: HttpRequest) -> JsonResponse:
    """Ops' and the load test's figures (staff only): queue lengths, active shoppers, rates."""
    if not (request.user.is_active and request.user.is_staff):
        return JsonResponse({"error": "staff only"}, status=403)
    body = room_status().as_dict()
    body["at"] = timezone.now().isoformat()
    response = JsonResponse(body, status=200 if body["available"] else 503)
    add_never_cache_headers(response)
    return response
