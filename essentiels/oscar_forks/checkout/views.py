"""Oscar's checkout with the Stripe payment step and safe order placement.

The card is entered on the preview page (Stripe.js Elements; localstripe's copy in dev and
tests). The browser saves it on the shopper's Stripe Customer with a SetupIntent
(``confirmCardSetup``), for this order and the weekly renewals to come; then:

1. the server authorises the order total (a manual-capture PaymentIntent, amount and currency
   from the cart, never from the browser; 3-D Secure handed back to the browser);
2. the order, its lines, its delivery booking and the cart's submission are written and
   **committed** in one transaction (the view opts out of ATOMIC_REQUESTS for that);
3. only then is the payment captured. If step 2 fails the authorisation is cancelled; if
   capture fails the order is cancelled (its delivery places released) and the shopper told.

Subscribing: a cart line chosen « Chaque semaine » (the ``frequency`` option) starts a
``BasketSubscription`` in the transaction that writes the order (step 2), with the card just
saved; its confirmation email goes once the payment is captured. A subscription needs an
account: the gateway refuses a guest checkout of such a cart (sign in or register instead; the
cart is merged into the account's), and the preview refuses it again.

Stock Oscar takes the money before creating the order (django-oscar #3768, #4246): a crash in
between left a paid shopper without an order. The order number comes from the cart, so a double
click, the 3-D Secure return and a webhook all end at the same single order (unique number).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from oscar.apps.checkout import views
from oscar.apps.checkout.exceptions import FailedPreCondition
from oscar.apps.order.exceptions import UnableToPlaceOrder
from oscar.apps.order.models import Order
from oscar.apps.payment.exceptions import UnableToTakePayment
from oscar.apps.payment.models import Source

from baskets.models import BasketSubscription, SubscriptionStatus
from baskets.services.subscribe import (
    SubscribeError,
    cart_subscription_problems,
    cart_weekly_lines,
    subscriptions_confirm,
    subscriptions_create_from_order,
)
from payments.exceptions import PaymentError
from payments.services.customers import stripe_customer_ensure
from payments.services.intents import (
    payment_intent_authorise,
    payment_intent_cancel,
    payment_intent_capture,
    setup_intent_create,
)
from payments.services.oscar_records import stripe_source_type

logger = logging.getLogger("payments.checkout")

ATTEMPT_KEY = "stripe_payment_attempt"
CANCELLED_STATUS = "Annulée"


def stripe_js_url() -> str:
    # localstripe serves its Stripe.js stand-in at <base>/js.stripe.com/v3/.
    base = settings.STRIPE_API_BASE.rstrip("/")
    return f"{base}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"


class SubscriptionChecksMixin:
    """Pre-condition for a cart with weekly lines: an account, and a sensible quantity."""

    def check_subscriptions_are_possible(self, request):
        problems = cart_subscription_problems(cart=request.basket, user=request.user)
        if not problems:
            return
        if not request.user.is_authenticated and len(problems) == 1:
            # Only the account is missing: the gateway (sign in or register) explains it.
            raise FailedPreCondition(url=reverse("checkout:index"))
        raise FailedPreCondition(url=reverse("basket:summary"), messages=problems)


class IndexView(views.IndexView):
    """The gateway: who are you? A cart with a weekly basket cannot go on as a guest."""

    def _needs_account(self) -> bool:
        return not self.request.user.is_authenticated and bool(
            cart_weekly_lines(cart=self.request.basket)
        )

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        # "I have an account" checks a password: with the request, login throttling counts it
        # (Oscar's view passes none, which would let this form guess passwords unthrottled).
        kwargs["request"] = self.request
        if self._needs_account():
            # Oscar preselects "as a guest", which such a cart cannot do.
            kwargs["initial"] = {**kwargs.get("initial", {}), "options": self.form_class.NEW}
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subscription_needs_account"] = self._needs_account()
        return context

    def form_valid(self, form):
        if form.is_guest_checkout() and self._needs_account():
            form.add_error(
                "options",
                _(
                    "A weekly basket needs an account: sign in, or create your account with "
                    "this email address. Your order is kept."
                ),
            )
            return self.form_invalid(form)
        return super().form_valid(form)


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class ShippingMethodView(views.ShippingMethodView):
    def get_available_shipping_methods(self):
        # Computed once per request: get() below and Oscar's own get() both ask.
        if not hasattr(self, "_available_methods"):
            self._available_methods = super().get_available_shipping_methods()
        return self._available_methods

    def get(self, request, *args, **kwargs):
        # No date for an address we deliver to, because a basket supply cannot serve on any
        # coming date: say so on the cart page (where the basket links to its waiting list)
        # rather than Oscar's "not available for your address".
        if (
            self.checkout_session.is_shipping_address_set()
            and not self.get_available_shipping_methods()
        ):
            from delivery.shipping import supply_unavailable_reason

            reason = supply_unavailable_reason(
                cart=request.basket, shipping_addr=self.get_shipping_address(request.basket)
            )
            if reason:
                messages.warning(request, reason)
                return redirect("basket:summary")
        return super().get(request, *args, **kwargs)


class PaymentDetailsView(SubscriptionChecksMixin, views.PaymentDetailsView):
    # Right after the cart's own checks: a refused cart is fixed before giving an address.
    pre_conditions = [
        "check_basket_is_not_empty",
        "check_basket_is_valid",
        "check_subscriptions_are_possible",
        "check_user_email_is_captured",
        "check_shipping_data_is_captured",
    ]
    _authorised_intent = ""
    # The card the browser saved (and this order is paid with): weekly renewals charge it.
    _payment_method_id = ""
    # (client secret, PaymentIntent id) when the bank asks the shopper for 3-D Secure.
    _authentication: tuple[str, str] | None = None

    # --- pages ---------------------------------------------------------------------------------

    def get(self, request, *args, **kwargs):
        if not self.preview:
            # One page for the summary and the card: the preview.
            return redirect("checkout:preview")
        return super().get(request, *args, **kwargs)

    def render_payment_details(self, request, **kwargs):
        # Oscar calls this when the payment did not go through; we answer on the preview page.
        kwargs.pop("payment_intent_id", None)
        if self._authentication:
            # 3-D Secure: the page hands the intent to Stripe.js, then posts the same card again.
            kwargs["authentication_secret"], kwargs["payment_intent_id"] = self._authentication
            kwargs.pop("error", None)
        else:
            # A declined card: shown where it was entered, the form ready for another card.
            kwargs.pop("payment_method_id", None)
        return self.render_preview(request, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.preview and self.request.basket.num_items:
            try:
                context["stripe"] = self._stripe_page_context()
            except PaymentError as exc:
                context["error"] = exc.message
        return context

    def _stripe_page_context(self) -> dict:
        order_number = self.generate_order_number(self.request.basket)
        attempt = self._attempt()
        customer_id = self._customer_id()
        return {
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "js_url": stripe_js_url(),
            # A new SetupIntent per attempt: a confirmed one cannot take another card.
            "setup_secret": setup_intent_create(
                customer_id=customer_id, order_number=f"{order_number}-{attempt}"
            ),
        }

    # --- payment -------------------------------------------------------------------------------

    def _attempt(self) -> int:
        return int(self.request.session.get(ATTEMPT_KEY, 1))

    def _customer_id(self) -> str:
        user = self.request.user if self.request.user.is_authenticated else None
        email = user.email if user else self.checkout_session.get_guest_email()
        return stripe_customer_ensure(user=user, email=email or "")

    def build_submission(self, **kwargs):
        submission = super().build_submission(**kwargs)
        submission["payment_kwargs"].update(
            payment_method_id=self.request.POST.get("payment_method_id", "").strip(),
            payment_intent_id=self.request.POST.get("payment_intent_id", "").strip(),
        )
        return submission

    def handle_payment(self, order_number, total, payment_method_id="", **kwargs):
        if not payment_method_id:
            raise UnableToTakePayment(_("Please enter your card details."))
        self._payment_method_id = payment_method_id
        try:
            result = payment_intent_authorise(
                order_number=order_number,
                amount=total.incl_tax,
                currency=total.currency,
                customer_id=self._customer_id(),
                payment_method_id=payment_method_id,
                off_session=False,
                attempt=self._attempt(),
            )
        except PaymentError as exc:
            raise UnableToTakePayment(exc.message) from exc
        if result.status == "requires_action":
            # Oscar's submit() turns any other exception into a generic error: this one makes
            # it restore the cart and call render_payment_details, which asks for 3-D Secure.
            self._authentication = (result.client_secret, result.payment_intent_id)
            raise UnableToTakePayment(_("Your bank asks you to confirm this payment."))
        if result.status == "declined":
            # The next card is a new attempt (a new SetupIntent and PaymentIntent).
            self.request.session[ATTEMPT_KEY] = self._attempt() + 1
            raise UnableToTakePayment(result.message)
        self._authorised_intent = result.payment_intent_id
        self.add_payment_source(
            Source(
                source_type=stripe_source_type(),
                currency=total.currency,
                amount_allocated=total.incl_tax,
                reference=result.payment_intent_id,
            )
        )
        self.add_payment_event(_("Authorisation"), total.incl_tax, result.payment_intent_id)

    def handle_order_placement(
        self,
        order_number,
        user,
        basket,
        shipping_address,
        shipping_method,
        shipping_charge,
        billing_address,
        order_total,
        surcharges=None,
        **kwargs,
    ):
        try:
            with transaction.atomic():
                order = self.place_order(
                    order_number=order_number,
                    user=user,
                    basket=basket,
                    shipping_address=shipping_address,
                    shipping_method=shipping_method,
                    shipping_charge=shipping_charge,
                    order_total=order_total,
                    billing_address=billing_address,
                    surcharges=surcharges,
                    **kwargs,
                )
                try:
                    subscriptions = subscriptions_create_from_order(
                        order=order,
                        customer_id=self._customer_id(),
                        payment_method_id=self._payment_method_id,
                    )
                except SubscribeError as exc:
                    raise UnableToPlaceOrder(exc.message) from exc
                basket.submit()
        except Exception:
            placed = Order.objects.filter(number=order_number).first()
            if placed is not None:
                # A concurrent request for this cart (a double click, the 3-D Secure return)
                # placed this very order with the same authorisation: show it, touch nothing.
                logger.info("order %s: already placed by a concurrent request", order_number)
                self.request.session["checkout_order_id"] = placed.id
                return redirect(self.get_success_url())
            # No order: release the money held.
            if self._authorised_intent:
                self._cancel_quietly(order_number)
            raise
        if self._authorised_intent:
            try:
                payment_intent_capture(
                    order_number=order_number, payment_intent_id=self._authorised_intent
                )
            except PaymentError as exc:
                return self._capture_failed(order, exc)
        self.request.session.pop(ATTEMPT_KEY, None)
        # Paid: now the subscriptions are confirmed to the shopper (sent once each).
        subscriptions_confirm(order=order, subscriptions=subscriptions)
        return self.handle_successful_order(order)

    def _cancel_quietly(self, order_number: str) -> None:
        try:
            payment_intent_cancel(
                order_number=order_number, payment_intent_id=self._authorised_intent
            )
        except PaymentError:
            # The reconciliation task finds authorisations without an order.
            logger.exception("order %s: could not cancel the authorisation", order_number)

    def _capture_failed(self, order: Order, exc: PaymentError):
        logger.error("order %s: capture failed (%s), cancelling the order", order.number, exc)
        self._cancel_quietly(order.number)
        order.set_status(CANCELLED_STATUS)
        # The first payment failed: what the order started stops with it (nothing was sent).
        BasketSubscription.objects.filter(first_order=order).exclude(
            status=SubscriptionStatus.CANCELLED
        ).update(
            status=SubscriptionStatus.CANCELLED,
            cancelled_at=timezone.now(),
            cancel_reason=_("The first payment failed."),
            updated_at=timezone.now(),
        )
        self.restore_frozen_basket()
        return self.render_preview(self.request, error=exc.message)
