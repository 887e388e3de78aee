from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from essentiels.health import services_health


@never_cache
@require_GET
def healthz(request):
    """200 when database, cache and broker all answer; 503 naming the ones that did not."""
    checks = services_health()
    failed = sorted(name for name, result in checks.items() if result != "ok")
    body = {"status": "ok" if not failed else "fail", "checks": checks, "failed": failed}
    return JsonResponse(body, status=503 if failed else 200)
