"""Supply: what the coming weeks need of every component, what buyers secured, and what is
already promised (reserved) per component and week.

Weeks are identified by their Monday (``week``). Side tables only: they point at Oscar's
products and at our baskets by foreign key; nothing in Oscar or ``baskets`` is forked.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from baskets.product_classes import GROCERY_CLASS_SLUG

NON_NEGATIVE = MinValueValidator(0, _("A quantity cannot be negative."))


class SupplyCommitment(models.Model):
    """What suppliers committed to deliver for one component in one week (entered by buyers)."""

    product = models.ForeignKey(
        "catalogue.Product",
        on_delete=models.CASCADE,
        related_name="supply_commitments",
        verbose_name=_("grocery product"),
        limit_choices_to={"product_class__slug": GROCERY_CLASS_SLUG},
    )
    week = models.DateField(_("week of (Monday)"))
    quantity = models.IntegerField(_("committed units"), validators=[NON_NEGATIVE])
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["week", "product_id"]
        verbose_name = _("committed supply")
        verbose_name_plural = _("committed supply")
        constraints = [
            models.UniqueConstraint(fields=["product", "week"], name="supply_commitment_once"),
            # The form refuses it with a message; the database refuses it from anywhere else.
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="supply_commitment_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.week:%Y-%m-%d}: {self.quantity}"


class SupplyReservation(models.Model):
    """Units of one component promised for one week: existing demand (set by the forecast
    refresh, so existing subscribers are counted first) plus each new sale since.

    Written only under the row's lock (``supply.services.reservations``); never saved from a
    form, so a buyer's edit can never overwrite a concurrent sale's increment.
    """

    product = models.ForeignKey(
        "catalogue.Product", on_delete=models.CASCADE, related_name="supply_reservations"
    )
    week = models.DateField(_("week of (Monday)"))
    reserved = models.IntegerField(_("reserved units"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("supply reservation")
        verbose_name_plural = _("supply reservations")
        constraints = [
            models.UniqueConstraint(fields=["product", "week"], name="supply_reservation_once"),
            models.CheckConstraint(
                condition=models.Q(reserved__gte=0), name="supply_reservation_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.week:%Y-%m-%d}: {self.reserved}"


class ForecastRun(models.Model):
    """One refresh of the demand snapshot (the latest one is what the pages show)."""

    horizon_start = models.DateField(_("from"))
    horizon_end = models.DateField(_("to"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    component_rows = models.PositiveIntegerField(_("component rows"), default=0)

    class Meta:
        ordering = ["-finished_at", "-pk"]
        verbose_name = _("forecast run")
        verbose_name_plural = _("forecast runs")

    def __str__(self) -> str:
        return f"{self.horizon_start:%Y-%m-%d}→{self.horizon_end:%Y-%m-%d} @ {self.finished_at}"


class VariantDemand(models.Model):
    """Snapshot: baskets of one variant to deliver on one date."""

    variant = models.ForeignKey(
        "baskets.BasketVariant", on_delete=models.CASCADE, related_name="supply_demand"
    )
    delivery_date = models.DateField(_("delivery date"))
    week = models.DateField(_("week of (Monday)"))
    from_subscriptions = models.PositiveIntegerField(_("subscriptions"), default=0)
    from_orders = models.PositiveIntegerField(_("placed orders"), default=0)

    class Meta:
        verbose_name = _("basket demand")
        verbose_name_plural = _("basket demand")
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "delivery_date"], name="supply_vdemand_once"
            ),
        ]
        indexes = [models.Index(fields=["week", "variant"], name="supply_vdemand_week")]

    def __str__(self) -> str:
        return f"{self.variant_id} {self.delivery_date:%Y-%m-%d}"

    @property
    def baskets(self) -> int:
        return self.from_subscriptions + self.from_orders


class ComponentDemand(models.Model):
    """Snapshot: units of one component needed on one delivery date."""

    product = models.ForeignKey(
        "catalogue.Product", on_delete=models.CASCADE, related_name="supply_demand"
    )
    delivery_date = models.DateField(_("delivery date"))
    week = models.DateField(_("week of (Monday)"))
    from_subscriptions = models.PositiveIntegerField(_("subscriptions"), default=0)
    from_orders = models.PositiveIntegerField(_("placed orders"), default=0)

    class Meta:
        verbose_name = _("component demand")
        verbose_name_plural = _("component demand")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "delivery_date"], name="supply_cdemand_once"
            ),
        ]
        indexes = [models.Index(fields=["week", "product"], name="supply_cdemand_week")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.delivery_date:%Y-%m-%d}"

    @property
    def quantity(self) -> int:
        return self.from_subscriptions + self.from_orders


class PickingTotals(ComponentDemand):
    """The ops' screen of warehouse picking totals per delivery date (admin entry only)."""

    class Meta:
        proxy = True
        verbose_name = _("warehouse picking totals")
        verbose_name_plural = _("warehouse picking totals")


class VariantSupplyCap(models.Model):
    """Whether new subscriptions to a basket variant are closed, and why.

    ``auto_capped`` is written by the forecast refresh (a component of it would be short in a
    coming week, or has no room left for one more subscriber); ``max_subscriptions`` is staff's
    manual ceiling on active subscriptions. Existing subscribers are never affected.
    """

    variant = models.OneToOneField(
        "baskets.BasketVariant",
        on_delete=models.CASCADE,
        related_name="supply_cap",
        verbose_name=_("basket"),
    )
    auto_capped = models.BooleanField(_("capped by the forecast"), default=False)
    auto_reasons = models.JSONField(_("short components"), default=list, blank=True)
    max_subscriptions = models.PositiveIntegerField(
        _("at most this many active subscriptions"),
        null=True,
        blank=True,
        help_text=_("Leave empty for no manual cap."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("subscription cap")
        verbose_name_plural = _("subscription caps")

    def __str__(self) -> str:
        return f"{self.variant_id}: {'auto' if self.auto_capped else '-'} {self.max_subscriptions}"


class SupplyWaitlistEntry(models.Model):
    """A shopper waiting for a capped basket to take new subscribers again."""

    variant = models.ForeignKey(
        "baskets.BasketVariant",
        on_delete=models.CASCADE,
        related_name="supply_waitlist",
        verbose_name=_("basket"),
    )
    email = models.EmailField(_("email"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When we wrote that the basket takes new subscribers again (once).
    notified_at = models.DateTimeField(_("told it reopened at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("basket waitlist entry")
        verbose_name_plural = _("basket waitlist")
        constraints = [
            models.UniqueConstraint(fields=["variant", "email"], name="supply_waitlist_once"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} {self.email}"


class ComponentSubstitution(models.Model):
    """On one delivery date, a short component is replaced by a substitute in every order of
    a basket that holds it (checked against each basket's diet promises and cost rule)."""

    product = models.ForeignKey(
        "catalogue.Product",
        on_delete=models.CASCADE,
        related_name="substituted_on",
        verbose_name=_("short component"),
        limit_choices_to={"product_class__slug": GROCERY_CLASS_SLUG},
    )
    substitute = models.ForeignKey(
        "catalogue.Product",
        on_delete=models.PROTECT,
        related_name="substitutes_on",
        verbose_name=_("substitute"),
        limit_choices_to={"product_class__slug": GROCERY_CLASS_SLUG},
    )
    delivery_date = models.DateField(_("delivery date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(_("applied to orders at"), null=True, blank=True)

    class Meta:
        ordering = ["-delivery_date", "pk"]
        verbose_name = _("substitution")
        verbose_name_plural = _("substitutions")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "delivery_date"], name="supply_substitution_once_per_date"
            ),
            models.CheckConstraint(
                condition=~models.Q(product=models.F("substitute")),
                name="supply_substitution_not_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}→{self.substitute_id} {self.delivery_date:%Y-%m-%d}"


class OrderLineSubstitution(models.Model):
    """A substitution as it reached one order line: what the shopper receives instead."""

    line = models.ForeignKey(
        "order.Line", on_delete=models.CASCADE, related_name="supply_substitutions"
    )
    substitution = models.ForeignKey(
        ComponentSubstitution, on_delete=models.CASCADE, related_name="order_lines"
    )
    # Copied so the order keeps saying what was delivered even if the products are renamed.
    original_title = models.CharField(_("instead of"), max_length=255)
    substitute_title = models.CharField(_("substitute"), max_length=255)
    quantity = models.PositiveIntegerField(_("units per basket"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("order line substitution")
        verbose_name_plural = _("order line substitutions")
        constraints = [
            models.UniqueConstraint(
                fields=["line", "substitution"], name="supply_line_substitution_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.original_title} → {self.substitute_title}"


class SupplyOrderReservation(models.Model):
    """Marks a checkout order whose supply was reserved, so a re-run reserves nothing twice."""

    order = models.OneToOneField(
        "order.Order", on_delete=models.CASCADE, related_name="supply_reservation"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("order supply reservation")
        verbose_name_plural = _("order supply reservations")

    def __str__(self) -> str:
        return str(self.order_id)
