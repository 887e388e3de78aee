"""The shop's URLs plus ``/bench/hello``: the Django hello-world view that bench_pages.py
compares the shop's pages with. Mounted only by the benchmark's settings (pages_settings)."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path

from essentiels.urls import urlpatterns as shop_urlpatterns


@transaction.non_atomic_requests  # a bare view: no database, as a page from the cache
def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, world", content_type="text/plain")


urlpatterns = [path("bench/hello", hello), *shop_urlpatterns]
