from __future__ import annotations

from django import template

from delivery.models import OrderDelivery
from delivery.postcodes import Eligibility, postcode_lookup
from delivery.selectors import district_next_delivery

register = template.Library()


@register.inclusion_tag("delivery/partials/postcode_result.html", takes_context=True)
def delivery_address_notice(context, postcode: str | None, commune: str | None = None) -> dict:
    """Eligibility of a (checkout) address: the day we deliver it, or why not and the waitlist."""
    from delivery.forms import WaitlistForm

    result: dict = {"request": context.get("request"), "lookup": None, "next_delivery": None}
    if not postcode:
        return result
    lookup = postcode_lookup(postcode=postcode, commune=commune)
    result["lookup"] = lookup
    if lookup.status == Eligibility.MALFORMED:
        result["lookup"] = None
        return result
    if lookup.is_served:
        result["next_delivery"] = district_next_delivery(district=lookup.district)
    if lookup.status in (Eligibility.UNKNOWN, Eligibility.NOT_SERVED) or (
        result["next_delivery"] is not None and result["next_delivery"].is_full
    ):
        result["waitlist_form"] = WaitlistForm(
            initial={"postcode": lookup.postcode, "commune": commune or ""}
        )
    return result


@register.simple_tag
def order_delivery(order) -> OrderDelivery | None:
    """{% order_delivery order as delivery %}: where and when the order is delivered."""
    return OrderDelivery.objects.filter(order=order).select_related("district").first()
