from django.urls import path

from essentiels.urls import urlpatterns as shop_urlpatterns
from tests.stack import views

urlpatterns = [
    path("_stack/request/", views.request_seen),
    path("_stack/ping/", views.ping),
    path("_stack/slow-post/", views.slow_post),
    *shop_urlpatterns,
]
