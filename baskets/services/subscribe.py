"""Subscribing at checkout: the « Chaque semaine » choice on a cart line, and the subscriptions
an order starts.

The choice travels with Oscar's own mechanism, a product *option* of the basket product class
(code ``frequency``, values ``weekly`` / ``once``): Oscar keeps it on the cart line (a line with
another value is another line), copies it to the order line, and shows it wherever lines are
listed. A line without the option (an add-to-cart post that did not send it, a renewal's own
order) is a single delivery.

When the checkout places an order, ``subscriptions_create_from_order`` runs in the same
transaction and creates one ``BasketSubscription`` per weekly line: its first delivery is the
order itself (paid on session, the card saved for later), renewals start the following week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.apps.catalogue.models import AttributeOption, AttributeOptionGroup, Option, ProductClass
from oscar.apps.order.models import Order

from baskets.models import BasketSubscription, BasketVariant, MessageKind
from baskets.product_classes import BASKET_CLASS_SLUG
from baskets.services.notifications import subscription_message_send
from delivery.calendar import PARIS, delivery_cutoff, delivery_dates_upcoming
from delivery.models import District, OrderDelivery

FREQUENCY_OPTION_CODE = "frequency"
WEEKLY = "weekly"
ONCE = "once"
# BasketSubscription.quantity's validator: more baskets a week is a call to the shop.
MAX_WEEKLY_QUANTITY = 10
CENTS = Decimal("0.01")


class SubscribeError(Exception):
    """The order cannot start its subscriptions; ``message`` is for the shopper, translated."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# --- the option --------------------------------------------------------------------------------


def subscription_option() -> Option:
    """The ``frequency`` option (radio: ``weekly`` / ``once``), created on first use.

    Created in code rather than by a data migration, so every database gets it the same way:
    ``basket_product_class()`` attaches it to the basket product class, and
    ``subscription_option_attach`` (after ``migrate``) to a class created before it existed.
    Not required: an add-to-cart without it is a single delivery.
    """
    group, _created = AttributeOptionGroup.objects.get_or_create(
        code="frequence-livraison", defaults={"name": "Fréquence de livraison"}
    )
    for value in (WEEKLY, ONCE):
        AttributeOption.objects.get_or_create(group=group, option=value)
    option, _created = Option.objects.get_or_create(
        code=FREQUENCY_OPTION_CODE,
        defaults={
            "name": "Fréquence",
            "type": Option.RADIO,
            "required": False,
            "option_group": group,
            "order": 1,
        },
    )
    return option


def subscription_option_attach(*, product_class: ProductClass | None = None) -> None:
    """Attach the option to the basket product class (``product_class``, or the existing one
    when there is one). Idempotent."""
    if product_class is None:
        product_class = ProductClass.objects.filter(slug=BASKET_CLASS_SLUG).first()
        if product_class is None:
            return  # basket_product_class() attaches it when it creates the class
    option = subscription_option()
    if not product_class.options.filter(pk=option.pk).exists():
        product_class.options.add(option)


# --- reading lines -----------------------------------------------------------------------------


def line_frequency(line: Any) -> str:
    """``WEEKLY`` or ``ONCE`` as chosen for a cart or order line; "" when it was not asked."""
    for attribute in line.attributes.all():
        # Order lines keep the option's code in ``type`` (their option may be deleted since).
        code = getattr(attribute, "type", "") or getattr(attribute.option, "code", "")
        if code == FREQUENCY_OPTION_CODE and attribute.value in (WEEKLY, ONCE):
            return attribute.value
    return ""


def line_is_weekly(line: Any) -> bool:
    """Whether a cart line or an order line was chosen « Chaque semaine »."""
    return line_frequency(line) == WEEKLY


def cart_weekly_lines(*, cart: Any) -> list[Any]:
    """The cart's lines chosen « Chaque semaine »."""
    if not cart.id:
        return []
    return [line for line in cart.all_lines() if line_is_weekly(line)]


def cart_subscription_problems(*, cart: Any, user: Any) -> list[str]:
    """Why this cart cannot be checked out as it is (translated), or nothing: a subscription
    needs an account, and a weekly line at most ``MAX_WEEKLY_QUANTITY`` baskets."""
    weekly = cart_weekly_lines(cart=cart)
    if not weekly:
        return []
    problems = []
    if not user.is_authenticated:
        problems.append(
            _(
                "A weekly basket needs an account, to manage your deliveries and your card: "
                "please sign in or create your account. Your order is kept. (For a single "
                "delivery without an account, choose “Just once” on the basket's page.)"
            )
        )
    for line in weekly:
        if line.quantity > MAX_WEEKLY_QUANTITY:
            problems.append(
                _(
                    "A subscription holds at most %(max)d baskets a week: please lower the "
                    "quantity of “%(title)s”."
                )
                % {"max": MAX_WEEKLY_QUANTITY, "title": line.product.get_title()}
            )
    return problems


# --- creating subscriptions --------------------------------------------------------------------


def subscription_first_renewal_date(*, district: District, after: date, now: datetime) -> date:
    """The district's first delivery date strictly after ``after`` (the first order's date),
    skipping holidays and closed dates. Beyond the calendar's horizon (every coming date
    closed), a week later: the renewal re-checks the date anyway."""
    days = delivery_dates_upcoming(
        district=district, now=now, not_before=after + timedelta(days=1), count=1
    )
    return days[0] if days else after + timedelta(days=7)


def _variant_of(line: Any) -> BasketVariant:
    variant = BasketVariant.objects.filter(product_id=line.product_id).first()
    if variant is None:
        raise SubscribeError(
            _("“%(title)s” cannot be delivered every week.") % {"title": line.title}
        )
    return variant


@transaction.atomic
def subscriptions_create_from_order(
    *,
    order: Order,
    customer_id: str,
    payment_method_id: str,
    now: datetime | None = None,
) -> list[BasketSubscription]:
    """One active subscription per weekly line of ``order`` (a checkout order, just placed in
    the caller's transaction): the line's basket size and quantity, the order's shipping
    address and district, the saved card, renewals from the district's next date after the
    order's delivery. Returns them in line order.

    Idempotent per (order, basket size): a re-run returns the existing ones. Raises
    SubscribeError (writing nothing) for an order without a shopper account, delivery
    booking or card.
    """
    now = now or timezone.now()
    lines = [line for line in order.lines.order_by("pk") if line_is_weekly(line)]
    if not lines:
        _supply_reserve(order=order, subscriptions=[], now=now)  # [Supply]: one-off baskets
        return []
    if order.user_id is None:
        raise SubscribeError(_("A weekly basket needs an account: please sign in."))
    if not customer_id or not payment_method_id:
        raise SubscribeError(_("Please enter your card details."))
    delivery = OrderDelivery.objects.select_related("district").filter(order=order).first()
    address = order.shipping_address
    if delivery is None or address is None:
        raise SubscribeError(_("This order has no delivery to repeat every week."))
    # The order row is the lock: two runs for one order (a re-run, a racing request that
    # sees it committed) create each subscription once.
    Order.objects.select_for_update().filter(pk=order.pk).first()
    existing = {
        subscription.variant_id: subscription
        for subscription in BasketSubscription.objects.filter(first_order=order)
    }
    starts_on = subscription_first_renewal_date(
        district=delivery.district, after=delivery.delivery_date, now=now
    )
    created: list[BasketSubscription] = []
    for line in lines:
        variant = _variant_of(line)
        subscription = existing.get(variant.pk)
        if subscription is None:
            subscription = BasketSubscription.objects.create(
                user_id=order.user_id,
                variant=variant,
                quantity=line.quantity,
                first_name=address.first_name,
                last_name=address.last_name,
                line1=address.line1,
                line2=address.line2,
                line4=address.line4,
                postcode=address.postcode,
                country_id=address.country_id,
                phone_number=str(address.phone_number or ""),
                notes=address.notes or "",
                district=delivery.district,
                starts_on=starts_on,
                first_order=order,
                stripe_customer_id=customer_id,
                stripe_payment_method_id=payment_method_id,
            )
            existing[variant.pk] = subscription
        created.append(subscription)
    _supply_reserve(order=order, subscriptions=created, now=now)
    return created


def _supply_reserve(
    *, order: Order, subscriptions: list[BasketSubscription], now: datetime
) -> None:
    # [Supply] the order's baskets (and a new subscription's coming weeks) are reserved in this
    # transaction, or the order is refused: supply.services.sales.
    from supply.services.sales import SupplyRefused, order_supply_reserve

    try:
        order_supply_reserve(order=order, subscriptions=subscriptions, now=now)
    except SupplyRefused as exc:
        raise SubscribeError(exc.message) from exc


# --- the confirmation email ----------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyAmount:
    baskets: Decimal
    delivery_fee: Decimal
    currency: str

    @property
    def total(self) -> Decimal:
        return self.baskets + self.delivery_fee


def subscription_weekly_amount(
    *, subscription: BasketSubscription, unit_price: Decimal, currency: str
) -> WeeklyAmount:
    """What one week costs at ``unit_price``: the baskets, plus the district's delivery fee
    unless the baskets reach its free-delivery threshold (as the renewal's order computes)."""
    baskets = (unit_price * subscription.quantity).quantize(CENTS)
    district = subscription.district
    fee = district.shipping_fee or Decimal("0.00")
    threshold = district.free_shipping_threshold
    if threshold is not None and baskets >= threshold:
        fee = Decimal("0.00")
    return WeeklyAmount(baskets=baskets, delivery_fee=fee.quantize(CENTS), currency=currency)


def subscriptions_confirm(
    *, order: Order, subscriptions: list[BasketSubscription]
) -> list[BasketSubscription]:
    """Send the « abonnement confirmé » email for each subscription the order started (once
    each: the key is the subscription's). Call once the first payment is captured. Returns
    the subscriptions an email was recorded for now."""
    delivery = OrderDelivery.objects.filter(order=order).first()
    lines = {line.product_id: line for line in order.lines.all()}
    sent = []
    for subscription in subscriptions:
        line = lines.get(subscription.variant.product_id)
        unit_price = (
            line.unit_price_incl_tax
            if line is not None and line.unit_price_incl_tax is not None
            else Decimal("0.00")
        )
        amount = subscription_weekly_amount(
            subscription=subscription, unit_price=unit_price, currency=order.currency
        )
        cutoff = delivery_cutoff(day=subscription.starts_on).astimezone(PARIS)
        context = {
            "order": order,
            "basket_title": subscription.variant.themed_basket.product.get_title(),
            "persons": subscription.variant.persons,
            "quantity": subscription.quantity,
            "amount": amount,
            "district_name": subscription.district.short_name,
            "first_delivery_date": delivery.delivery_date if delivery else None,
            "next_delivery_date": subscription.starts_on,
            # Each week's order is fixed (and charged) at its cutoff: same weekday and time.
            "cutoff": cutoff,
        }
        message = subscription_message_send(
            subscription=subscription,
            kind=MessageKind.CONFIRMED,
            key=f"confirmed-{subscription.pk}",
            context=context,
            delivery_date=subscription.starts_on,
        )
        if message is not None:
            sent.append(subscription)
    return sent
