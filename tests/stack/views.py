"""Probe views served by the stack under test (never by production: tests/stack/urls.py)."""

import hashlib
import os
import time
from pathlib import Path

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


def _server(request) -> dict:
    return {"pid": os.getpid(), "server_port": request.META["SERVER_PORT"]}


def request_seen(request):
    """What the app server was told about the request, once nginx passed it on (after taking
    ``?seconds=`` to answer, so that a test can kill a server while requests are in flight)."""
    time.sleep(float(request.GET.get("seconds", "0")))
    meta = request.META
    return JsonResponse(
        {
            **_server(request),
            "remote_addr": meta.get("REMOTE_ADDR"),
            "x_forwarded_for": meta.get("HTTP_X_FORWARDED_FOR"),
            "x_forwarded_proto": meta.get("HTTP_X_FORWARDED_PROTO"),
            "x_forwarded_host": meta.get("HTTP_X_FORWARDED_HOST"),
            "x_forwarded_ssl": meta.get("HTTP_X_FORWARDED_SSL"),
            "x_real_ip": meta.get("HTTP_X_REAL_IP"),
            "forwarded": meta.get("HTTP_FORWARDED"),
            "wsgi_url_scheme": meta.get("wsgi.url_scheme"),
            "is_secure": request.is_secure(),
            "host": request.get_host(),
            "media_root": str(settings.MEDIA_ROOT),
            "secret_key_digest": hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()[:12],
            "user": request.user.get_username() if request.user.is_authenticated else None,
        }
    )


@csrf_exempt
@require_POST
def ping(request):
    return JsonResponse(_server(request))


@csrf_exempt
@require_POST
def slow_post(request):
    """Writes down that it ran (request id, server) before taking its time: a POST that nginx
    replayed on another server would be written down twice."""
    line = f"{request.GET['id']} {request.META['SERVER_PORT']} {os.getpid()}\n"
    with (Path(os.environ["ESSENTIELS_STACK"]) / "posts.log").open("a") as log:
        log.write(line)
        log.flush()
        os.fsync(log.fileno())
    time.sleep(float(request.GET.get("seconds", "0")))
    return JsonResponse(_server(request))
