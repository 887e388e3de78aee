"""Themed baskets (our product) on top of Oscar's catalogue.

A themed basket is an Oscar *parent* product of class ``panier``; each household size is a *child*
product (a variant) with its own composition of grocery products (components). Oscar keeps what
it is good at (titles, images, stock records, prices, cart, orders); these side tables hold what
Oscar has no place for: theme, days covered, diet promises, compositions and the rule status.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from oscar.apps.catalogue.models import Product

from baskets.product_classes import GROCERY_CLASS_SLUG


class Diet(models.TextChoices):
    """Dietary labels. A basket carrying a label promises that every component is compatible."""

    VEGETARIAN = "vegetarian", _("Vegetarian")
    VEGAN = "vegan", _("Vegan")
    HALAL = "halal", _("Halal")
    NO_PORK = "no_pork", _("No pork")
    GLUTEN_FREE = "gluten_free", _("Gluten-free")
    LACTOSE_FREE = "lactose_free", _("Lactose-free")


class DietFlags(models.Model):
    """One boolean per diet: simple to filter on in SQL, in admin lists and in the storefront.

    On a grocery product a flag means "compatible with"; on a basket it is a promise. A basket
    with no flag is omnivore.
    """

    vegetarian = models.BooleanField(_("vegetarian"), default=False)
    vegan = models.BooleanField(_("vegan"), default=False)
    halal = models.BooleanField(_("halal"), default=False)
    no_pork = models.BooleanField(_("no pork"), default=False)
    gluten_free = models.BooleanField(_("gluten-free"), default=False)
    lactose_free = models.BooleanField(_("lactose-free"), default=False)

    class Meta:
        abstract = True

    @property
    def diets(self) -> frozenset[str]:
        return frozenset(code for code in Diet.values if getattr(self, code))

    def diet_labels(self) -> list[str]:
        return [str(label) for code, label in Diet.choices if getattr(self, code)]


class BasketTheme(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    # "As much variety as possible": the Essentiel theme asks for 40 distinct products.
    min_components = models.PositiveSmallIntegerField(
        _("minimum distinct products"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("A basket of this theme must hold at least this many different products."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("basket theme")
        verbose_name_plural = _("basket themes")

    def __str__(self) -> str:
        return self.name


class GroceryDiets(DietFlags):
    """The diets a grocery product is compatible with."""

    product = models.OneToOneField(
        "catalogue.Product", on_delete=models.CASCADE, related_name="grocery_diets"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("diets of a grocery product")
        verbose_name_plural = _("diets of grocery products")

    def __str__(self) -> str:
        return f"{self.product_id}: {', '.join(sorted(self.diets)) or '-'}"


class ThemedBasket(DietFlags):
    """What a basket promises, for all its household sizes."""

    product = models.OneToOneField(
        "catalogue.Product", on_delete=models.CASCADE, related_name="themed_basket"
    )
    theme = models.ForeignKey(
        BasketTheme, on_delete=models.PROTECT, related_name="baskets", verbose_name=_("theme")
    )
    days = models.PositiveSmallIntegerField(
        _("days covered"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text=_("Three meals a day for this many days."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("themed basket")
        verbose_name_plural = _("themed baskets")

    def __str__(self) -> str:
        return self.product.title


class RuleStatus(models.TextChoices):
    UNCHECKED = "unchecked", _("Not checked yet")
    VALID = "valid", _("Valid")
    INVALID = "invalid", _("Breaks a rule")


class BasketVariant(models.Model):
    """One household size of a themed basket: an Oscar child product with its composition."""

    product = models.OneToOneField(
        "catalogue.Product", on_delete=models.CASCADE, related_name="basket_variant"
    )
    themed_basket = models.ForeignKey(
        ThemedBasket, on_delete=models.CASCADE, related_name="variants", verbose_name=_("basket")
    )
    persons = models.PositiveSmallIntegerField(
        _("household size"),
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("Number of persons this variant feeds."),
    )
    # Written only by the rule service (baskets.rules), on every change that can affect it; kept
    # here so lists can filter and sort on it without recomputing compositions.
    rule_status = models.CharField(
        _("rule status"), max_length=12, choices=RuleStatus.choices, default=RuleStatus.UNCHECKED
    )
    rule_problems = models.JSONField(_("broken rules"), default=list, blank=True)
    rule_checked_at = models.DateTimeField(_("rules checked at"), null=True, blank=True)
    cost_total = models.DecimalField(
        _("composition cost"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    cost_per_person_day = models.DecimalField(
        _("cost per person-day"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    distinct_components = models.PositiveSmallIntegerField(_("distinct products"), default=0)
    withdrawn_at = models.DateTimeField(
        _("withdrawn from sale at"),
        null=True,
        blank=True,
        help_text=_("Set when a change broke a rule of this published basket."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["themed_basket_id", "persons"]
        verbose_name = _("basket variant")
        verbose_name_plural = _("basket variants")
        constraints = [
            models.UniqueConstraint(
                fields=["themed_basket", "persons"], name="basket_variant_one_per_household_size"
            ),
        ]

    def __str__(self) -> str:
        return self.product.get_title()

    @property
    def is_valid(self) -> bool:
        return self.rule_status == RuleStatus.VALID

    def problem_messages(self) -> list[str]:
        """The broken rules as last checked, in the active language."""
        from baskets.rules import Problem

        return [Problem.from_json(data).message() for data in self.rule_problems]


class BasketComponent(models.Model):
    """A grocery product in a basket variant: how many units of its pack."""

    variant = models.ForeignKey(
        BasketVariant, on_delete=models.CASCADE, related_name="components", verbose_name=_("basket")
    )
    product = models.ForeignKey(
        "catalogue.Product",
        on_delete=models.PROTECT,
        related_name="in_basket_components",
        verbose_name=_("grocery product"),
        limit_choices_to={"product_class__slug": GROCERY_CLASS_SLUG},
    )
    quantity = models.PositiveIntegerField(
        _("quantity"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(999)],
        help_text=_("Units of the product's pack."),
    )

    class Meta:
        ordering = ["variant_id", "id"]
        verbose_name = _("component")
        verbose_name_plural = _("composition")
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "product"], name="basket_component_once_per_variant"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="basket_component_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class OrderLineCost(models.Model):
    """The cost of an order line when it was placed, so past margins stay true after price
    changes. For a basket, the composition at that moment is kept too."""

    line = models.OneToOneField("order.Line", on_delete=models.CASCADE, related_name="cost")
    unit_cost_price = models.DecimalField(
        _("unit cost price"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    composition = models.JSONField(_("composition"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("order line cost")
        verbose_name_plural = _("order line costs")

    def __str__(self) -> str:
        return f"{self.line_id}: {self.unit_cost_price}"


class GroceryProduct(Product):
    """Oscar's product, seen as a grocery component: the back-office's view of the assortment
    (cost prices and diets) in Django admin."""

    class Meta:
        proxy = True
        verbose_name = _("grocery product")
        verbose_name_plural = _("grocery products (assortment)")


# --- Subscriptions -----------------------------------------------------------------------------
# "You will be delivered every week with all your essentials": a subscription renews itself at
# each cutoff of its district (baskets.services.renewal). One renewal row per (subscription,
# delivery date), enforced by the database, is what makes re-runs and racing workers safe.


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    # Paused until ``paused_until``: no delivery before that date, deliveries resume on it.
    PAUSED = "paused", _("Paused")
    CANCELLED = "cancelled", _("Cancelled")


class BasketSubscription(models.Model):
    """A shopper's weekly order of one basket variant, delivered on their district's day."""

    # Oscar already uses ``user.baskets`` (its carts).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="basket_subscriptions",
        verbose_name=_("shopper"),
    )
    variant = models.ForeignKey(
        BasketVariant,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("basket"),
    )
    quantity = models.PositiveSmallIntegerField(
        _("quantity"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    # The address is copied here rather than pointing at the address book: editing or deleting
    # an address-book entry must not move next week's delivery without the shopper seeing the
    # (possibly new) district and weekday first.
    first_name = models.CharField(_("first name"), max_length=255, blank=True)
    last_name = models.CharField(_("last name"), max_length=255, blank=True)
    line1 = models.CharField(_("address"), max_length=255)
    line2 = models.CharField(_("address (continued)"), max_length=255, blank=True)
    line4 = models.CharField(_("city"), max_length=255)
    postcode = models.CharField(_("postcode"), max_length=64)
    country = models.ForeignKey(
        "address.Country", on_delete=models.PROTECT, default="FR", verbose_name=_("country")
    )
    phone_number = models.CharField(_("phone number"), max_length=32, blank=True)
    notes = models.TextField(_("delivery instructions"), blank=True)
    # The district of the address, resolved when the address was set (its weekday decides the
    # delivery dates).
    district = models.ForeignKey(
        "delivery.District",
        on_delete=models.PROTECT,
        related_name="basket_subscriptions",
        verbose_name=_("district"),
    )
    # The first delivery date renewals cover: the checkout's own order delivers the earlier one.
    starts_on = models.DateField(_("renewals from"))
    # The checkout order that started it (paid on session); null for one created otherwise.
    first_order = models.ForeignKey(
        "order.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscriptions_started",
        verbose_name=_("first order"),
    )
    stripe_customer_id = models.CharField(_("Stripe customer id"), max_length=255)
    stripe_payment_method_id = models.CharField(_("Stripe payment method id"), max_length=255)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
        db_index=True,
    )
    paused_until = models.DateField(_("paused until"), null=True, blank=True)
    # When the pause was asked: a delivery whose cutoff had passed by then is still delivered.
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("basket subscription")
        verbose_name_plural = _("basket subscriptions")
        indexes = [
            models.Index(fields=["district", "status"], name="baskets_sub_district_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=SubscriptionStatus.PAUSED)
                | models.Q(paused_until__isnull=False),
                name="baskets_subscription_paused_has_date",
            ),
        ]

    def __str__(self) -> str:
        # No related lookups here: admin lists and logs call it for many rows.
        return _("Subscription no. %(number)s") % {"number": self.pk}

    def is_paused_on(self, day: date, *, cutoff: datetime | None = None) -> bool:
        """Whether the pause covers ``day``; given the day's ``cutoff``, a pause asked after it
        does not (that order was already fixed)."""
        return (
            self.status == SubscriptionStatus.PAUSED
            and self.paused_until is not None
            and day < self.paused_until
            and (cutoff is None or self.paused_at is None or self.paused_at < cutoff)
        )

    def is_cancelled_for(self, *, cutoff: datetime) -> bool:
        """Whether the cancellation came before this cutoff (after it, that order stands)."""
        return self.status == SubscriptionStatus.CANCELLED and (
            self.cancelled_at is None or self.cancelled_at < cutoff
        )


class SubscriptionSkip(models.Model):
    """A week the shopper skipped (before its cutoff)."""

    subscription = models.ForeignKey(
        BasketSubscription, on_delete=models.CASCADE, related_name="skips"
    )
    delivery_date = models.DateField(_("delivery date"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery_date"]
        verbose_name = _("skipped week")
        verbose_name_plural = _("skipped weeks")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "delivery_date"], name="baskets_skip_once_per_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.delivery_date:%Y-%m-%d}"


class RenewalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    # The order exists (delivery booked); the charge has not succeeded yet.
    ORDERED = "ordered", _("Ordered, not charged yet")
    PAID = "paid", _("Paid")
    # The card was declined: the order and its delivery are kept while the charge is retried
    # (``next_retry_at``) or the shopper gives another card, until the payment deadline.
    DECLINED = "declined", _("Card declined, retrying")
    FAILED = "failed", _("Failed")
    # The bank wants the shopper (3-D Secure): the order and its delivery are kept meanwhile.
    REQUIRES_ACTION = "requires_action", _("Waiting for the shopper's authentication")
    CANCELLED = "cancelled", _("Cancelled")


class SubscriptionRenewal(models.Model):
    """One delivery date of one subscription: its order and its charge."""

    subscription = models.ForeignKey(
        BasketSubscription, on_delete=models.PROTECT, related_name="renewals"
    )
    delivery_date = models.DateField(_("delivery date"))
    # Null until the order is placed (and again never: a failed renewal keeps its cancelled
    # order for the record).
    order = models.OneToOneField(
        "order.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscription_renewal",
        verbose_name=_("order"),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RenewalStatus.choices,
        default=RenewalStatus.PENDING,
        db_index=True,
    )
    payment_intent_id = models.CharField(_("payment intent"), max_length=255, blank=True)
    # The charge attempt number (the ledger's ``attempt``): a retry with a new card is attempt 2.
    attempts = models.PositiveSmallIntegerField(_("charge attempts"), default=0)
    # When a declined charge is tried again on the saved card (null: no retry planned).
    next_retry_at = models.DateTimeField(_("next retry"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-delivery_date", "-pk"]
        indexes = [
            models.Index(
                fields=["next_retry_at"],
                condition=models.Q(next_retry_at__isnull=False),
                name="baskets_renewal_retry_due",
            ),
        ]
        verbose_name = _("subscription renewal")
        verbose_name_plural = _("subscription renewals")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "delivery_date"],
                name="baskets_renewal_once_per_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.delivery_date:%Y-%m-%d} ({self.status})"


class RenewalOutbox(models.Model):
    """Renewals to run, written in the dispatcher's transaction and enqueued after its commit.

    A process dying between the commit and the enqueue leaves a row without ``done_at``: the
    sweeper enqueues it again. ``done_at`` is set once the renewal reached an outcome.
    """

    subscription = models.ForeignKey(
        BasketSubscription, on_delete=models.CASCADE, related_name="outbox_entries"
    )
    delivery_date = models.DateField(_("delivery date"))
    enqueued_at = models.DateTimeField(_("last enqueued at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("renewal outbox entry")
        verbose_name_plural = _("renewal outbox")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "delivery_date"], name="baskets_outbox_once_per_date"
            ),
        ]
        indexes = [
            models.Index(
                fields=["enqueued_at"],
                condition=models.Q(done_at__isnull=True),
                name="baskets_outbox_undone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.delivery_date:%Y-%m-%d}"


class MessageKind(models.TextChoices):
    CONFIRMED = "confirmed", _("Subscription confirmed")
    RENEWED = "renewed", _("Next order created and charged")
    PAYMENT_ACTION = "payment_action", _("Payment to confirm (3-D Secure)")
    PAYMENT_DECLINED = "payment_declined", _("Card declined")
    DELIVERY_CANCELLED = "delivery_cancelled", _("Delivery cancelled, unpaid")
    CHANGED = "changed", _("Subscription changed")
    BASKET_CHANGED = "basket_changed", _("Basket price or contents changed")


class SubscriptionMessage(models.Model):
    """An email sent about a subscription, once per ``key``.

    The key names the event (``renewed-<renewal id>``, ``declined-<renewal id>-<attempt>``…):
    a re-run renewal or a redelivered task finds the row and sends nothing twice. The rendered
    subject and body are kept, so staff can read what the shopper was told.
    """

    subscription = models.ForeignKey(
        BasketSubscription, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=MessageKind.choices)
    key = models.CharField(_("key"), max_length=120, unique=True)
    # The delivery the message is about, when there is one.
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("body"))
    html = models.TextField(_("HTML body"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Null until the email went out (or while a failed send waits for the resend task).
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("subscription email")
        verbose_name_plural = _("subscription emails")

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.kind} {self.key}"
