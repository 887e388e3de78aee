"""Districts, their postcodes and closed dates, delivery dates with capacity, and bookings.

A *district* is one INSEE commune (a Paris arrondissement or a suburb commune) delivered on one
fixed weekday. A *delivery date* is a concrete date on which a district is served; its row is
created lazily, the first time somebody books it, with the district's capacity at that moment.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from delivery.querysets import DeliveryDateQuerySet, DistrictQuerySet, OrderDeliveryQuerySet

postcode_validator = RegexValidator(r"^\d{5}$", _("A French postcode has exactly five digits."))


class Weekday(models.IntegerChoices):
    """Numbered like Python's ``date.weekday()`` so the calendar can compare them directly."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class District(models.Model):
    name = models.CharField(_("name"), max_length=128)
    # The INSEE commune code (75113 for Paris 13e): the natural key the seed data is loaded by.
    insee_code = models.CharField(
        _("INSEE code"),
        max_length=5,
        unique=True,
        validators=[RegexValidator(r"^\d[0-9AB]\d{3}$", _("An INSEE code has five characters."))],
    )
    department = models.CharField(_("department"), max_length=3, db_index=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    # Nullable: a district not yet opened has no delivery day. An active one must have one.
    weekday = models.PositiveSmallIntegerField(
        _("delivery weekday"), choices=Weekday.choices, null=True, blank=True
    )
    capacity = models.PositiveIntegerField(
        _("capacity (baskets per delivery date)"),
        default=0,
        help_text=_("How many baskets can be delivered in this district on one delivery date."),
    )
    opens_on = models.DateField(
        _("opening date"),
        null=True,
        blank=True,
        help_text=_("No delivery before this date. Empty: as soon as the district is active."),
    )
    is_active = models.BooleanField(
        _("open"), default=False, help_text=_("Open districts accept orders.")
    )
    shipping_fee = models.DecimalField(
        _("delivery fee (incl. VAT)"),
        max_digits=7,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    free_shipping_threshold = models.DecimalField(
        _("free delivery from (incl. VAT)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("Orders of at least this amount are delivered free. Empty: never free."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DistrictQuerySet.as_manager()

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["insee_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=False) | (Q(weekday__isnull=False) & Q(capacity__gt=0)),
                name="delivery_district_active_has_weekday_and_capacity",
                violation_error_message=_(
                    "An open district needs a delivery weekday and a capacity above zero."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def short_name(self) -> str:
        """ "Paris 13e" rather than INSEE's "Paris 13e Arrondissement"."""
        return self.name.removesuffix(" Arrondissement")


class Postcode(models.Model):
    """One postcode of one district. A postcode shared by several communes has several rows."""

    code = models.CharField(_("postcode"), max_length=5, validators=[postcode_validator])
    district = models.ForeignKey(
        District, on_delete=models.CASCADE, related_name="postcodes", verbose_name=_("district")
    )

    class Meta:
        verbose_name = _("postcode")
        verbose_name_plural = _("postcodes")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "district"], name="delivery_postcode_unique")
        ]
        indexes = [models.Index(fields=["code"], name="delivery_postcode_code_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.district.short_name}"


class ClosedDate(models.Model):
    """A date without deliveries, added by ops (a strike, a warehouse closure)."""

    date = models.DateField(_("date"))
    # Empty district: closed everywhere.
    district = models.ForeignKey(
        District,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closed_dates",
        verbose_name=_("district"),
        help_text=_("Leave empty to close every district on that date."),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("closed date")
        verbose_name_plural = _("closed dates")
        ordering = ["date"]
        # Two partial constraints rather than NULLS NOT DISTINCT, which SQLite (the demo) lacks.
        constraints = [
            models.UniqueConstraint(
                fields=["date", "district"],
                condition=Q(district__isnull=False),
                name="delivery_closeddate_unique",
                violation_error_message=_("This date is already closed for this district."),
            ),
            models.UniqueConstraint(
                fields=["date"],
                condition=Q(district__isnull=True),
                name="delivery_closeddate_unique_everywhere",
                violation_error_message=_("This date is already closed for every district."),
            ),
        ]

    def __str__(self) -> str:
        where = self.district.short_name if self.district_id else _("all districts")
        return f"{self.date:%Y-%m-%d} ({where})"


class DeliveryDate(models.Model):
    """A concrete date on which a district is delivered, with its capacity and places booked.

    ``booked`` only ever moves through conditional UPDATEs (see ``delivery.services.booking``):
    the database itself refuses a row where more is booked than the capacity.
    """

    district = models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        related_name="delivery_dates",
        verbose_name=_("district"),
    )
    date = models.DateField(_("date"))
    capacity = models.PositiveIntegerField(_("capacity"))
    booked = models.PositiveIntegerField(_("booked"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeliveryDateQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery date")
        verbose_name_plural = _("delivery dates")
        ordering = ["date", "district__insee_code"]
        constraints = [
            models.UniqueConstraint(fields=["district", "date"], name="delivery_date_unique"),
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")),
                name="delivery_date_never_overbooked",
                violation_error_message=_("More baskets are booked than the capacity allows."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district.short_name} {self.date:%Y-%m-%d}"

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked

    def clean(self) -> None:
        # The CHECK constraint says the same; this puts the message on the field in admin,
        # where ``booked`` is read-only and so left out of constraint validation.
        if self.capacity is not None and self.booked > self.capacity:
            raise ValidationError(
                {
                    "capacity": _(
                        "More baskets are booked than the capacity allows (%(booked)s booked)."
                    )
                    % {"booked": self.booked}
                }
            )


class OrderDelivery(models.Model):
    """Where and when an order is delivered (a side table: Oscar's order app is not forked)."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        RELEASED = "released", _("Released")

    order = models.OneToOneField(
        "order.Order", on_delete=models.CASCADE, related_name="delivery", verbose_name=_("order")
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="order_deliveries"
    )
    delivery_date = models.DateField(_("delivery date"))
    # The date the shopper was shown when ordering; differs from delivery_date when that date
    # filled up meanwhile (the thank-you page says so) or when ops moved the delivery.
    requested_date = models.DateField(_("date first offered"))
    baskets = models.PositiveIntegerField(_("baskets"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.BOOKED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("order delivery")
        verbose_name_plural = _("order deliveries")
        ordering = ["delivery_date", "pk"]
        indexes = [
            models.Index(fields=["district", "delivery_date"], name="delivery_orderdel_dist_date")
        ]

    def __str__(self) -> str:
        return f"{self.order.number} → {self.district.short_name} {self.delivery_date:%Y-%m-%d}"

    @property
    def was_postponed(self) -> bool:
        return self.delivery_date != self.requested_date


class DeliveryMove(models.Model):
    """One order moved by ops to another delivery date: the audit trail, and the email outbox.

    ``notified_at`` is set once the shopper's email went out, so a re-run task sends each email
    exactly once.
    """

    class Reason(models.TextChoices):
        WEEKDAY_CHANGED = "weekday", _("Delivery weekday changed")
        CAPACITY_LOWERED = "capacity", _("Capacity lowered")
        DATE_CLOSED = "closed", _("Date closed")

    order_delivery = models.ForeignKey(
        OrderDelivery, on_delete=models.CASCADE, related_name="moves"
    )
    from_date = models.DateField(_("from"))
    to_date = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    notified_at = models.DateTimeField(_("shopper notified at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("delivery move")
        verbose_name_plural = _("delivery moves")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.order_delivery.order.number}: {self.from_date} → {self.to_date}"


class WaitlistEntry(models.Model):
    """A shopper outside the open districts who wants to hear when we deliver there."""

    email = models.EmailField(_("email"))
    postcode = models.CharField(_("postcode"), max_length=5, validators=[postcode_validator])
    # Known when the postcode is one of our (closed) districts; empty outside the seed area.
    district = models.ForeignKey(
        District,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        verbose_name=_("district"),
    )
    # Consent as given: when, and the exact words shown (they may change later).
    consent_text = models.TextField(_("consent wording"))
    consented_at = models.DateTimeField(_("consent given at"))
    language = models.CharField(_("language"), max_length=8, default=settings.LANGUAGE_CODE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["email", "postcode"], name="delivery_waitlist_unique")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.postcode})"


# Bus routes (fleet, plans, stops) live in their own module; imported here so they belong to the
# delivery app. Last line on purpose: routing models refer to the ones above.
from delivery.routing.models import *  # noqa: E402, F403
