"""The waiting room's persistent side: ops' live settings (and their history), shoppers flagged
for the priority lane by customer care, and priority codes handed out by social services.

The live state (queue, admitted shoppers) is in Redis (``waitingroom.admission``); these rows are
what must survive a Redis restart and what staff edit in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SETTINGS_PK = 1


class WaitingRoomSettings(models.Model):
    """The room's live settings: one row (pk 1), edited by ops in the admin and mirrored into
    Redis on save, so the middleware reads them without a database query."""

    enabled = models.BooleanField(
        _("queue shoppers when the shop is full"),
        default=True,
        help_text=_("Off: everybody is let in at once, whatever the limits below."),
    )
    admit_per_minute = models.PositiveIntegerField(
        _("new shoppers admitted per minute"),
        help_text=_("0 lets nobody new in, except through the priority lane."),
    )
    max_active = models.PositiveIntegerField(
        _("active shoppers at most"),
        help_text=_("Shoppers browsing at the same time; the priority lane counts too."),
    )
    idle_minutes = models.PositiveIntegerField(
        _("minutes before an idle shopper's place is freed"),
        validators=[MinValueValidator(1)],
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("waiting room settings")
        verbose_name_plural = _("waiting room settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=SETTINGS_PK), name="waitingroom_settings_single")
        ]

    def __str__(self) -> str:
        return str(_("Waiting room settings"))

    @classmethod
    def defaults(cls) -> dict:
        """The values before ops ever saved the form (WAITING_ROOM_* settings)."""
        return {
            "enabled": True,
            "admit_per_minute": settings.WAITING_ROOM_ADMIT_PER_MINUTE,
            "max_active": settings.WAITING_ROOM_MAX_ACTIVE,
            "idle_minutes": settings.WAITING_ROOM_IDLE_MINUTES,
        }

    @classmethod
    def current(cls) -> WaitingRoomSettings:
        """The saved row, or an unsaved one with the defaults (reading never writes)."""
        return cls.objects.filter(pk=SETTINGS_PK).first() or cls(pk=SETTINGS_PK, **cls.defaults())

    def values(self) -> dict:
        return {
            "enabled": self.enabled,
            "admit_per_minute": self.admit_per_minute,
            "max_active": self.max_active,
            "idle_minutes": self.idle_minutes,
        }


class WaitingRoomSettingsChange(models.Model):
    """One change of the live settings: who, when, before and after (the audit trail)."""

    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    before = models.JSONField(_("before"), default=dict)
    after = models.JSONField(_("after"), default=dict)

    class Meta:
        verbose_name = _("waiting room settings change")
        verbose_name_plural = _("waiting room settings changes")
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d %H:%M} {self.changed_by_id or '-'}"


class PriorityShopperQuerySet(models.QuerySet):
    def active(self, *, today=None) -> PriorityShopperQuerySet:
        today = today or timezone.localdate()
        return self.filter(Q(until__isnull=True) | Q(until__gte=today))


class PriorityShopper(models.Model):
    """A customer that customer care lets skip the queue (an elderly or disabled person, a
    household in hardship). No health data here: only who asked and until when."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="waitingroom_priority",
        verbose_name=_("customer"),
    )
    until = models.DateField(
        _("priority until"), null=True, blank=True, help_text=_("Empty: with no end date.")
    )
    note = models.CharField(
        _("note"),
        max_length=200,
        blank=True,
        help_text=_("Who asked for it (never a diagnosis or any health information)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("flagged by"),
    )

    objects = PriorityShopperQuerySet.as_manager()

    class Meta:
        verbose_name = _("priority customer")
        verbose_name_plural = _("priority customers")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.user.email or self.user.get_username()


class PriorityCodeQuerySet(models.QuerySet):
    def redeemable(self, *, now=None) -> PriorityCodeQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, uses__lt=F("max_uses"))


class PriorityCode(models.Model):
    """A code social services hand to the people they help; entered on the queue page, it puts
    the shopper in the priority lane. Only its hash is kept: staff see the code once."""

    label = models.CharField(
        _("given to"), max_length=120, help_text=_("e.g. « CCAS Paris 13e, March distribution »")
    )
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The last characters, so staff can tell codes apart when someone reads one out.
    hint = models.CharField(_("ends with"), max_length=4, editable=False)
    max_uses = models.PositiveIntegerField(_("uses at most"), validators=[MinValueValidator(1)])
    uses = models.PositiveIntegerField(_("used"), default=0, editable=False)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = PriorityCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("priority code")
        verbose_name_plural = _("priority codes")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(uses__lte=F("max_uses")), name="waitingroom_code_uses_within_max"
            )
        ]

    def __str__(self) -> str:
        return f"…{self.hint} ({self.label})"


class PriorityCodeRedemption(models.Model):
    """One visitor (waiting room token) that entered a code: a code's use is counted once per
    visitor, and this is its trail."""

    code = models.ForeignKey(
        PriorityCode, on_delete=models.CASCADE, related_name="redemptions", verbose_name=_("code")
    )
    visitor = models.CharField(_("visitor"), max_length=64)
    redeemed_at = models.DateTimeField(_("redeemed at"), default=timezone.now)

    class Meta:
        verbose_name = _("priority code use")
        verbose_name_plural = _("priority code uses")
        ordering = ["-redeemed_at"]
        constraints = [
            models.UniqueConstraint(fields=["code", "visitor"], name="waitingroom_redemption_once")
        ]

    def __str__(self) -> str:
        return f"{self.code_id} {self.visitor}"
