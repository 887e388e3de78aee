from __future__ import annotations

from django import template

from payments.forms import RefundForm
from payments.selectors import order_authorisation
from payments.services.refunds import refund_next_sequence, refunded_total

register = template.Library()


@register.inclusion_tag("payments/dashboard/refund_form.html", takes_context=True)
def stripe_refund_form(context, order):
    """The refund form of Oscar's dashboard order page, when the order was paid by Stripe."""
    authorisation = order_authorisation(order_number=order.number)
    form = None
    refunded = None
    if authorisation is not None:
        refunded = refunded_total(payment_intent_id=authorisation.stripe_id)
        form = RefundForm(
            initial={
                "order_number": order.number,
                "sequence": refund_next_sequence(order_number=order.number),
            }
        )
    return {
        "form": form,
        "order": order,
        "refunded": refunded,
        "authorisation": authorisation,
        "csrf_token": context.get("csrf_token"),
    }
