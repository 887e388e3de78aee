"""The shopper's subscriptions in "Mon compte": list, detail, and the changes (skip a week,
pause, resume, cancel, change basket or household size, change address). Thin: every change
is a service in ``baskets.services.subscriptions``; a refusal (``SubscriptionChangeError``) is
shown as an error message, never a 500.

Every lookup is scoped to the signed-in shopper: another shopper's (or a guessed) id is a 404.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from baskets.forms import (
    SubscriptionAddressConfirmForm,
    SubscriptionAddressForm,
    SubscriptionVariantForm,
)
from baskets.models import BasketSubscription, SubscriptionStatus
from baskets.services.subscriptions import (
    AddressPreview,
    SubscriptionAddress,
    SubscriptionAddressMoved,
    SubscriptionAddressNotServed,
    SubscriptionChangeError,
    subscription_address_change,
    subscription_address_preview,
    subscription_cancel,
    subscription_due_dates,
    subscription_fixed_delivery,
    subscription_pause,
    subscription_resume,
    subscription_skip,
    subscription_variant_change,
)
from baskets.storefront import baskets_for_sale
from delivery.calendar import local_today
from delivery.models import Weekday

DUE_DATES_SHOWN = 6


def _now() -> datetime:
    # One clock for a request (tests set it here).
    return timezone.now()


class SkipForm(forms.Form):
    delivery_date = forms.DateField(label=_("Delivery date"))


class PauseForm(forms.Form):
    until = forms.DateField(
        label=_("Pause until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "invalid": _("Please enter a valid date (for example 2027-01-05)."),
            "required": _("Please choose the date deliveries resume."),
        },
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


def _subscription(request: HttpRequest, pk: int) -> BasketSubscription:
    return get_object_or_404(
        BasketSubscription.objects.select_related("variant__product", "district"),
        pk=pk,
        user=request.user,
    )


def _amount(request: HttpRequest, subscription: BasketSubscription) -> tuple[Decimal | None, str]:
    """The amount per delivery at the basket's current price (what the next renewal charges)."""
    price = request.strategy.fetch_for_product(subscription.variant.product).price
    if not price.exists or price.incl_tax is None:
        return None, ""
    return price.incl_tax * subscription.quantity, price.currency


def _date_label(day: date) -> str:
    return formats.date_format(day, "l j F Y")


def _after_cutoff_notice(fixed: date | None) -> str:
    if fixed is None:
        return ""
    return gettext(
        "The order for %(date)s is already fixed: this change applies from the following delivery."
    ) % {"date": _date_label(fixed)}


@login_required
@require_GET
def subscription_list(request: HttpRequest) -> HttpResponse:
    now = _now()
    rows = []
    subscriptions = request.user.basket_subscriptions.select_related(
        "variant__product", "district"
    ).prefetch_related("skips")
    for subscription in subscriptions:
        amount, currency = _amount(request, subscription)
        # A delivery already fixed comes first; otherwise the next one still open to changes.
        due = subscription_due_dates(subscription=subscription, count=1, now=now)
        next_delivery = subscription_fixed_delivery(subscription=subscription, now=now) or (
            due[0] if due else None
        )
        rows.append(
            {
                "subscription": subscription,
                "next_delivery": next_delivery,
                "amount": amount,
                "currency": currency,
            }
        )
    return render(
        request,
        "baskets/account/subscription_list.html",
        {"rows": rows, "page_title": gettext("My subscriptions"), "active_tab": "subscriptions"},
    )


def _detail(
    request: HttpRequest,
    subscription: BasketSubscription,
    *,
    pause_form: PauseForm | None = None,
    cancel_form: CancelForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = _now()
    amount, currency = _amount(request, subscription)
    fixed = subscription_fixed_delivery(subscription=subscription, now=now)
    today = local_today(now=now)
    context = {
        "subscription": subscription,
        "is_cancelled": subscription.status == SubscriptionStatus.CANCELLED,
        "is_paused": subscription.status == SubscriptionStatus.PAUSED,
        "due_dates": subscription_due_dates(
            subscription=subscription, count=DUE_DATES_SHOWN, now=now
        ),
        "skipped": subscription.skips.filter(delivery_date__gte=today).order_by("delivery_date"),
        "fixed_delivery": fixed,
        "amount": amount,
        "currency": currency,
        "pause_form": pause_form or PauseForm(),
        "cancel_form": cancel_form or CancelForm(),
        "tomorrow": (today + timedelta(days=1)).isoformat(),
        "page_title": gettext("Subscription #%(number)s") % {"number": subscription.pk},
        "active_tab": "subscriptions",
    }
    return render(request, "baskets/account/subscription_detail.html", context, status=status)


@login_required
@require_GET
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _subscription(request, pk))


def _back(subscription: BasketSubscription) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("baskets:subscription-detail", args=[subscription.pk]))


@login_required
@require_POST
def subscription_skip_view(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    form = SkipForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Please choose one of the delivery dates shown."))
        return _back(subscription)
    day = form.cleaned_data["delivery_date"]
    try:
        subscription_skip(subscription_id=subscription.pk, delivery_date=day, now=_now())
    except SubscriptionChangeError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            gettext("The delivery of %(date)s is skipped: it will not be charged.")
            % {"date": _date_label(day)},
        )
    return _back(subscription)


@login_required
@require_POST
def subscription_pause_view(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    form = PauseForm(request.POST)
    if not form.is_valid():
        return _detail(request, subscription, pause_form=form, status=400)
    now = _now()
    until = form.cleaned_data["until"]
    try:
        subscription_pause(subscription_id=subscription.pk, until=until, now=now)
    except SubscriptionChangeError as error:
        form.add_error("until", error.message)
        return _detail(request, subscription, pause_form=form, status=400)
    fixed = subscription_fixed_delivery(subscription=subscription, now=now)
    message = gettext("Your subscription is paused until %(date)s.") % {"date": _date_label(until)}
    messages.success(request, " ".join(filter(None, [message, _after_cutoff_notice(fixed)])))
    return _back(subscription)


@login_required
@require_POST
def subscription_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    try:
        resumed = subscription_resume(subscription_id=subscription.pk, now=_now())
    except SubscriptionChangeError as error:
        messages.error(request, error.message)
        return _back(subscription)
    due = subscription_due_dates(subscription=resumed, count=1, now=_now())
    message = gettext("Your subscription is active again.")
    if due:
        message += " " + gettext("Next delivery: %(date)s.") % {"date": _date_label(due[0])}
    messages.success(request, message)
    return _back(subscription)


@login_required
@require_POST
def subscription_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, subscription, cancel_form=form, status=400)
    now = _now()
    # The delivery already fixed before cancelling still comes (and is charged).
    fixed = subscription_fixed_delivery(subscription=subscription, now=now)
    try:
        subscription_cancel(
            subscription_id=subscription.pk, reason=form.cleaned_data["reason"], now=now
        )
    except SubscriptionChangeError as error:
        messages.error(request, error.message)
        return _back(subscription)
    message = gettext("Your subscription is cancelled.")
    messages.success(request, " ".join(filter(None, [message, _after_cutoff_notice(fixed)])))
    return _back(subscription)


# --- Changing basket, household size or address ------------------------------------------------
# Two pages: « Changer de panier ou de taille » (GET the form, POST the change) and « Changer
# d'adresse » (GET the form; POST shows the new district, weekday and first date; the POST of
# that confirmation, carrying the district the shopper saw, applies it).


def _refused_if_cancelled(
    request: HttpRequest, subscription: BasketSubscription
) -> HttpResponse | None:
    if subscription.status == SubscriptionStatus.CANCELLED:
        messages.error(request, gettext("This subscription is cancelled."))
        return _back(subscription)
    return None


def _variant_page(
    request: HttpRequest,
    subscription: BasketSubscription,
    *,
    cards: list,
    form: SubscriptionVariantForm,
    status: int = 200,
) -> HttpResponse:
    amount, currency = _amount(request, subscription)
    context = {
        "subscription": subscription,
        "cards": cards,
        "form": form,
        "selected": str(form["variant"].value() or ""),
        "amount": amount,
        "currency": currency,
        "fixed_delivery": subscription_fixed_delivery(subscription=subscription, now=_now()),
        "page_title": gettext("Change basket or household size"),
        "active_tab": "subscriptions",
    }
    return render(
        request, "baskets/account/subscription_change_basket.html", context, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_variant_view(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    if (refused := _refused_if_cancelled(request, subscription)) is not None:
        return refused
    cards = baskets_for_sale()
    variant_ids = [offer.variant_id for card in cards for offer in card.offers]
    if request.method == "GET":
        form = SubscriptionVariantForm(
            variant_ids=variant_ids,
            initial={"variant": subscription.variant_id, "quantity": subscription.quantity},
        )
        return _variant_page(request, subscription, cards=cards, form=form)
    form = SubscriptionVariantForm(request.POST, variant_ids=variant_ids)
    if not form.is_valid():
        return _variant_page(request, subscription, cards=cards, form=form, status=400)
    try:
        change = subscription_variant_change(
            subscription_id=subscription.pk,
            variant_id=form.cleaned_data["variant"],
            quantity=form.cleaned_data["quantity"],
            now=_now(),
        )
    except SubscriptionChangeError as error:
        form.add_error(None, error.message)
        return _variant_page(request, subscription, cards=cards, form=form, status=400)
    if not change.changed:
        messages.info(request, gettext("This is already your basket: nothing changed."))
    else:
        message = gettext("Your basket is changed.")
        if change.applies_from is not None:
            message = gettext("Your basket is changed from the delivery of %(date)s.") % {
                "date": _date_label(change.applies_from)
            }
        notice = _after_cutoff_notice(change.fixed_delivery)
        messages.success(request, " ".join(filter(None, [message, notice])))
    return _back(subscription)


def _waitlist_url(*, postcode: str, commune: str) -> str:
    query = urlencode({"postcode": postcode, "commune": commune})
    return f"{reverse('delivery:waitlist')}?{query}"


def _address_page(
    request: HttpRequest,
    subscription: BasketSubscription,
    *,
    form: SubscriptionAddressForm,
    waitlist_url: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "subscription": subscription,
        "form": form,
        "waitlist_url": waitlist_url,
        "fixed_delivery": subscription_fixed_delivery(subscription=subscription, now=_now()),
        "page_title": gettext("Change the delivery address"),
        "active_tab": "subscriptions",
    }
    return render(
        request, "baskets/account/subscription_change_address.html", context, status=status
    )


def _address_refused(
    request: HttpRequest,
    subscription: BasketSubscription,
    form: SubscriptionAddressForm,
    error: SubscriptionChangeError,
) -> HttpResponse:
    """Step 1 again, the shopper's address kept, with why it cannot be used."""
    waitlist_url = ""
    if isinstance(error, SubscriptionAddressNotServed):
        form.add_error("postcode", error.message)
        waitlist_url = _waitlist_url(postcode=error.postcode, commune=error.commune)
    else:
        form.add_error(None, error.message)
    return _address_page(request, subscription, form=form, waitlist_url=waitlist_url, status=400)


def _address_confirm_page(
    request: HttpRequest,
    subscription: BasketSubscription,
    *,
    preview: AddressPreview,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    form = SubscriptionAddressConfirmForm(
        initial={
            **asdict(preview.address),
            "district": preview.district.pk,
            "first_delivery": preview.first_delivery,
        }
    )
    context = {
        "subscription": subscription,
        "preview": preview,
        "form": form,
        "notice": notice,
        "page_title": gettext("Confirm the new address"),
        "active_tab": "subscriptions",
    }
    return render(
        request, "baskets/account/subscription_change_address_confirm.html", context, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_address_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 1: the address form; its POST shows what the new address would mean."""
    subscription = _subscription(request, pk)
    if (refused := _refused_if_cancelled(request, subscription)) is not None:
        return refused
    if request.method == "GET":
        form = SubscriptionAddressForm(initial=asdict(SubscriptionAddress.of(subscription)))
        return _address_page(request, subscription, form=form)
    form = SubscriptionAddressForm(request.POST)
    if not form.is_valid():
        return _address_page(request, subscription, form=form, status=400)
    try:
        preview = subscription_address_preview(
            subscription_id=subscription.pk, address=form.address(), now=_now()
        )
    except SubscriptionChangeError as error:
        return _address_refused(request, subscription, form, error)
    return _address_confirm_page(request, subscription, preview=preview)


@login_required
@require_POST
def subscription_address_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: apply the address the shopper confirmed, with the district they saw."""
    subscription = _subscription(request, pk)
    form = SubscriptionAddressConfirmForm(request.POST)
    if not form.is_valid():
        # Tampered or truncated: back to the visible form, with what could be read.
        visible = SubscriptionAddressForm(request.POST)
        visible.is_valid()
        visible.add_error(None, gettext("Please check the address and confirm it again."))
        return _address_page(request, subscription, form=visible, status=400)
    try:
        change = subscription_address_change(
            subscription_id=subscription.pk,
            address=form.address(),
            expected_district_id=form.cleaned_data["district"],
            expected_first_delivery=form.cleaned_data["first_delivery"],
            now=_now(),
        )
    except SubscriptionAddressMoved as moved:
        return _address_confirm_page(
            request, subscription, preview=moved.preview, notice=moved.message, status=409
        )
    except SubscriptionChangeError as error:
        return _address_refused(request, subscription, SubscriptionAddressForm(request.POST), error)
    if not change.changed:
        messages.info(request, gettext("This is already your delivery address: nothing changed."))
        return _back(subscription)
    message = gettext("Your new delivery address is saved.")
    if change.applies_from is not None:
        message += " " + gettext(
            "First delivery there: %(date)s (every %(weekday)s in %(district)s)."
        ) % {
            "date": _date_label(change.applies_from),
            "weekday": str(Weekday(change.subscription.district.weekday).label).lower(),
            "district": change.subscription.district.short_name,
        }
    if change.fixed_delivery is not None:
        message += " " + gettext(
            "The order for %(date)s is already fixed: it is delivered to your previous address."
        ) % {"date": _date_label(change.fixed_delivery)}
    messages.success(request, message)
    return _back(subscription)
