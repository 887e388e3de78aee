"""Consents as they were given: who, for what, the exact words shown, when, and when withdrawn."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ConsentPurpose(models.TextChoices):
    MARKETING_EMAIL = "marketing_email", _("News and offers by email")


class ConsentSource(models.TextChoices):
    REGISTRATION = "registration", _("Registration form")
    ACCOUNT = "account", _("Account page")
    CLOSURE = "closure", _("Account closed")


class Consent(models.Model):
    """One consent: given once, withdrawn at most once. Giving it again after a withdrawal is a
    new row, so the history (and the wording of each time) stays."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="privacy_consents",
        verbose_name=_("shopper"),
    )
    purpose = models.CharField(_("purpose"), max_length=32, choices=ConsentPurpose.choices)
    # The words the shopper saw next to the box they ticked, in their language: the wording may
    # change later, what they agreed to does not.
    wording = models.TextField(_("wording shown"))
    language = models.CharField(_("language"), max_length=8)
    source = models.CharField(_("given on"), max_length=16, choices=ConsentSource.choices)
    given_at = models.DateTimeField(_("given at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_source = models.CharField(
        _("withdrawn on"), max_length=16, choices=ConsentSource.choices, blank=True
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-given_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="privacy_one_active_consent_per_purpose",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=models.F("given_at")),
                name="privacy_consent_withdrawn_after_given",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.purpose} {self.given_at:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None
