from django.apps import apps
from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from django.utils.translation import gettext_lazy as _
from oscar.views.decorators import login_forbidden

from essentiels import views
from essentiels.security.password_reset import DeferredPasswordResetForm

admin.site.site_header = _("Les Essentiels — back-office")
admin.site.site_title = _("Les Essentiels")

urlpatterns = [
    # Outside the language prefix: probed by the load balancer, not by people.
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Stripe's webhooks (and the staff refund action): no language prefix.
    path("paiements/", include("payments.urls")),
]

# French (the default language) has no prefix; English lives under /en/.
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("livraison/", include("delivery.urls")),
    path("paniers/", include("baskets.urls")),
    path("approvisionnement/", include("supply.urls")),
    path("compte/donnees/", include("privacy.urls")),
    path("salle-attente/", include("waitingroom.urls")),
    # Before Oscar's own /password-reset/: the same page, with the email sent by a worker (no
    # timing difference between known and unknown emails: essentiels/security/password_reset.py).
    path(
        "password-reset/",
        login_forbidden(
            auth_views.PasswordResetView.as_view(
                form_class=DeferredPasswordResetForm,
                success_url=reverse_lazy("password-reset-done"),
                template_name="oscar/registration/password_reset_form.html",
            )
        ),
        name="password-reset",
    ),
    path("", include(apps.get_app_config("oscar").urls[0])),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
