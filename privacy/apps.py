from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Personal data (GDPR): marketing consent as given, a shopper's data as JSON, closing an
    account (anonymised; orders kept for the accounts). Its pages: /compte/donnees/."""

    name = "privacy"
    verbose_name = _("Personal data")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from privacy import receivers  # noqa: F401 — connects the registration receiver
