"""Stripe customers, the ledger of our writes to Stripe, and the webhook events Stripe sent us.

Money movements themselves are still recorded the Oscar way (payment ``Source`` and
``PaymentEvent`` on the order); these tables are what makes talking to Stripe safe to repeat.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class StripeCustomer(models.Model):
    """One Stripe Customer per shopper, reused for every order and renewal."""

    # Guests check out too: they have no user, hence nullable, and are matched by email.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stripe_customer",
        verbose_name=_("user"),
    )
    email = models.EmailField(_("email"))
    customer_id = models.CharField(_("Stripe customer id"), max_length=255, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Stripe customer")
        verbose_name_plural = _("Stripe customers")
        constraints = [
            # A guest email maps to one Customer; a signed-in shopper is keyed by the user.
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(user__isnull=True),
                name="payments_stripecustomer_one_per_guest_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} ({self.email})"


class StripeOperation(models.Model):
    """The ledger: one row per write we make to Stripe, keyed by an idempotency key built from
    our own ids (``order-<number>-authorise``…).

    The row is committed *before* the call and locked while it runs, so a retried task, a double
    click or racing app servers make one Stripe write: the second caller waits for the lock and
    gets the recorded result. The same key is sent to Stripe as ``Idempotency-Key`` (which real
    Stripe honours for 24 h; localstripe ignores it, so the ledger is what tests can prove).
    """

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("customer")
        SETUP_INTENT = "setup_intent", _("setup intent")
        PAYMENT_INTENT = "payment_intent", _("payment intent")
        CAPTURE = "capture", _("capture")
        CANCEL = "cancel", _("cancel")
        REFUND = "refund", _("refund")

    class Status(models.TextChoices):
        # pending: written before the call, or the call's outcome is unknown (network error):
        # a retry calls Stripe again with the same key, the reconciliation checks it.
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        # failed: Stripe answered no (declined card, invalid request); a retry with the same key
        # gets the same answer from the ledger, like Stripe itself would.
        FAILED = "failed", _("failed")

    idempotency_key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Not a foreign key: the authorisation happens before the Oscar order exists.
    order_number = models.CharField(
        _("order number"), max_length=128, null=True, blank=True, db_index=True
    )
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    stripe_id = models.CharField(_("Stripe id"), max_length=255, blank=True, db_index=True)
    # The Stripe object's own status as last seen (requires_capture, succeeded, canceled…),
    # updated by webhooks and the reconciliation.
    stripe_status = models.CharField(_("Stripe status"), max_length=40, blank=True)
    attempts = models.PositiveIntegerField(_("calls made to Stripe"), default=0)
    error = models.TextField(_("error"), blank=True)
    request = models.JSONField(_("request"), default=dict, blank=True)
    response = models.JSONField(_("recorded result"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Stripe operation")
        verbose_name_plural = _("Stripe operations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "status"], name="payments_op_kind_status")]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class StripeEvent(models.Model):
    """A webhook event, recorded once (``event_id`` is unique): a replay is acknowledged and
    not processed again."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        PROCESSED = "processed", _("processed")
        # A type we do not handle: acknowledged so Stripe stops sending it, kept for the record.
        IGNORED = "ignored", _("ignored")
        FAILED = "failed", _("failed")

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED
    )
    error = models.TextField(_("error"), blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
