"""Oscar shipping methods for fixed-day delivery; the forked shipping Repository returns them.

The method's code carries the delivery date ("livraison-2026-12-01"): Oscar keeps the chosen code
in the checkout session and re-checks it on every later step, so if that date stops being
offered (its cutoff passed, it filled up) Oscar sends the shopper back to pick the new one
instead of placing the order on a date they never saw.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _
from oscar.apps.shipping.methods import Base
from oscar.core import prices

from delivery.calendar import PARIS, delivery_cutoff
from delivery.models import District, Weekday
from delivery.postcodes import postcode_lookup
from delivery.selectors import NextDelivery, district_next_delivery

CENTS = Decimal("0.01")
SESSION_DISTRICT_KEY = "delivery_district_id"


def _price(*, currency: str, incl_tax: Decimal) -> prices.Price:
    rate = Decimal(settings.DELIVERY_FEE_VAT_RATE)
    excl_tax = (incl_tax / (1 + rate)).quantize(CENTS, rounding=ROUND_HALF_UP)
    return prices.Price(currency=currency, excl_tax=excl_tax, incl_tax=incl_tax)


def cart_baskets_count(cart) -> int:
    """Baskets (our products) in Oscar's cart: the capacity a checkout needs."""
    slug = settings.DELIVERY_BASKET_PRODUCT_CLASS_SLUG
    return sum(
        line.quantity
        for line in cart.all_lines()
        if (product_class := line.product.get_product_class()) is not None
        and product_class.slug == slug
    )


class FixedDayDelivery(Base):
    """Home delivery on the district's weekday, on the next date with room."""

    is_tax_known = True

    def __init__(self, *, next_delivery: NextDelivery):
        district = next_delivery.district
        day = next_delivery.date
        self.district = district
        self.delivery_date = day
        self.code = f"{settings.DELIVERY_SHIPPING_CODE_PREFIX}{day.isoformat()}"
        self.name = _("Delivery on %(date)s") % {"date": formats.date_format(day, "l j F Y")}
        cutoff = delivery_cutoff(day=day).astimezone(PARIS)
        parts = [
            _("Delivered every %(weekday)s in %(district)s.")
            % {
                "weekday": str(Weekday(district.weekday).label).lower(),
                "district": district.short_name,
            },
        ]
        if next_delivery.supply_short_component:
            parts.append(
                _("We cannot secure enough “%(component)s” for the delivery of %(short)s.")
                % {
                    "component": next_delivery.supply_short_component,
                    "short": formats.date_format(next_delivery.supply_short_date, "l j F"),
                }
            )
        elif next_delivery.is_postponed:
            parts.append(
                _("The delivery of %(full)s is full.")
                % {"full": formats.date_format(next_delivery.first_date, "l j F")}
            )
        parts.append(
            _("Order before %(cutoff)s.") % {"cutoff": formats.date_format(cutoff, "l j F, H:i")}
        )
        self.description = " ".join(parts)

    def calculate(self, basket) -> prices.Price:
        fee = self.district.shipping_fee
        threshold = self.district.free_shipping_threshold
        if threshold is not None and basket.total_incl_tax >= threshold:
            fee = Decimal("0.00")
        return _price(currency=basket.currency, incl_tax=fee)


class DeliveryToBeConfirmed(Base):
    """Shown on the cart page before the shopper told us where they live."""

    code = "livraison-a-confirmer"
    is_tax_known = True

    def __init__(self):
        self.name = _("Home delivery")
        self.description = _("Your delivery day depends on your postcode.")

    def calculate(self, basket) -> prices.Price:
        return _price(currency=basket.currency, incl_tax=Decimal(settings.DELIVERY_DEFAULT_FEE))


def shipping_methods_for(*, cart, shipping_addr=None, request=None) -> list[Base]:
    """The methods Oscar offers: one fixed-day delivery, or none where we do not deliver.

    Without an address (the cart page) the district the shopper checked with the postcode form
    is used, else a placeholder: Oscar's cart page needs at least one method.
    """
    # Supply (lazily imported: it builds on delivery) skips dates it cannot serve.
    from supply.services.sales import cart_supply_check

    quantity = max(1, cart_baskets_count(cart))
    if shipping_addr is None:
        district_id = request.session.get(SESSION_DISTRICT_KEY) if request else None
        district = District.objects.open().filter(pk=district_id).first() if district_id else None
        if district is not None:
            next_delivery = district_next_delivery(
                district=district, quantity=quantity, supply_check=cart_supply_check(cart=cart)
            )
            if next_delivery is not None and next_delivery.date is not None:
                return [FixedDayDelivery(next_delivery=next_delivery)]
        return [DeliveryToBeConfirmed()]
    lookup = postcode_lookup(postcode=shipping_addr.postcode, commune=shipping_addr.line4)
    if not lookup.is_served:
        return []
    next_delivery = district_next_delivery(
        district=lookup.district, quantity=quantity, supply_check=cart_supply_check(cart=cart)
    )
    if next_delivery is None or next_delivery.date is None:
        return []
    return [FixedDayDelivery(next_delivery=next_delivery)]


def supply_unavailable_reason(*, cart, shipping_addr) -> str:
    """Why no date is offered for a served address when supply is the cause (a component of
    the cart's baskets cannot be secured for any coming delivery), else ""."""
    from supply.services.sales import cart_supply_check

    if shipping_addr is None:
        return ""
    supply_check = cart_supply_check(cart=cart)
    if supply_check is None:
        return ""
    lookup = postcode_lookup(postcode=shipping_addr.postcode, commune=shipping_addr.line4)
    if not lookup.is_served:
        return ""
    next_delivery = district_next_delivery(
        district=lookup.district,
        quantity=max(1, cart_baskets_count(cart)),
        supply_check=supply_check,
    )
    if next_delivery is None or next_delivery.date is not None:
        return ""
    if not next_delivery.supply_short_component:
        return ""
    return _(
        "We cannot secure enough “%(component)s” for any coming delivery: a basket in your "
        "order cannot be sold for now. Its page lets you join the waiting list."
    ) % {"component": next_delivery.supply_short_component}
