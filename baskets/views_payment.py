"""The payment page of one weekly order whose charge did not go through (linked from the
"payment problem" emails): complete 3-D Secure, or pay with another card. Thin: the services
are in ``baskets.services.recovery``.

Scoped to the signed-in shopper: another shopper's (or a guessed) renewal id is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from baskets.models import RenewalStatus, SubscriptionRenewal
from baskets.services.recovery import (
    RenewalPaymentError,
    renewal_authentication_complete,
    renewal_pay_with_card,
)
from baskets.services.renewal import renewal_payment_deadline
from essentiels.oscar_forks.checkout.views import stripe_js_url
from payments.exceptions import PaymentError
from payments.services.intents import setup_intent_create

PAYABLE = (RenewalStatus.DECLINED, RenewalStatus.REQUIRES_ACTION)


def _renewal(request: HttpRequest, pk: int) -> SubscriptionRenewal:
    return get_object_or_404(
        SubscriptionRenewal.objects.select_related(
            "order", "subscription__variant__product", "subscription__district"
        ),
        pk=pk,
        subscription__user=request.user,
        order__isnull=False,
    )


def _stripe_context(renewal: SubscriptionRenewal) -> dict:
    return {
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "js_url": stripe_js_url(),
        # One SetupIntent per charge attempt: a confirmed one cannot take another card.
        "setup_secret": setup_intent_create(
            customer_id=renewal.subscription.stripe_customer_id,
            order_number=f"{renewal.order.number}-{renewal.attempts + 1}",
        ),
    }


def _authentication_secret(renewal: SubscriptionRenewal) -> str:
    """The client secret Stripe.js needs to run 3-D Secure for the pending intent."""
    from payments.models import StripeOperation

    op = (
        StripeOperation.objects.filter(
            kind=StripeOperation.Kind.PAYMENT_INTENT, stripe_id=renewal.payment_intent_id
        )
        .only("response")
        .first()
    )
    return (op.response or {}).get("client_secret", "") if op is not None else ""


@login_required
@require_http_methods(["GET", "POST"])
def renewal_payment(request: HttpRequest, pk: int) -> HttpResponse:
    renewal = _renewal(request, pk)
    if request.method == "POST" and renewal.status in PAYABLE:
        method = request.POST.get("payment_method_id", "").strip()
        try:
            if method:
                renewal = renewal_pay_with_card(renewal_id=renewal.pk, payment_method_id=method)
            else:
                renewal = renewal_authentication_complete(renewal_id=renewal.pk)
        except RenewalPaymentError as exc:
            messages.error(request, exc.message)
            return redirect("baskets:renewal-payment", pk=renewal.pk)
        except PaymentError as exc:
            messages.error(request, exc.message)
            return redirect("baskets:renewal-payment", pk=renewal.pk)
        if renewal.status == RenewalStatus.PAID:
            messages.success(request, gettext("Thank you: this delivery is paid."))
        elif renewal.status == RenewalStatus.DECLINED:
            messages.error(request, renewal.error or gettext("Your card was declined."))
        if renewal.status != RenewalStatus.REQUIRES_ACTION:
            return redirect("baskets:renewal-payment", pk=renewal.pk)
    context = {
        "renewal": renewal,
        "order": renewal.order,
        "subscription": renewal.subscription,
        "deadline": renewal_payment_deadline(delivery_date=renewal.delivery_date),
        "payable": renewal.status in PAYABLE,
        "active_tab": "subscriptions",
        "page_title": gettext("Payment of your delivery"),
    }
    if context["payable"] and timezone.now() < context["deadline"]:
        try:
            context["stripe"] = _stripe_context(renewal)
        except PaymentError as exc:
            context["error"] = exc.message
        if renewal.status == RenewalStatus.REQUIRES_ACTION:
            context["authentication_secret"] = _authentication_secret(renewal)
    elif context["payable"]:
        context["payable"] = False
        context["too_late"] = True
    return render(request, "baskets/account/renewal_payment.html", context)
