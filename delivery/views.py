"""Shopper pages: the postcode check (a page and an HTML fragment) and the waitlist."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from delivery.forms import WAITLIST_CONSENT, PostcodeCheckForm, WaitlistForm
from delivery.postcodes import Eligibility, postcode_lookup
from delivery.selectors import district_next_delivery
from delivery.services.waitlist import waitlist_join
from delivery.shipping import SESSION_DISTRICT_KEY


def _check_context(request: HttpRequest) -> dict:
    form = PostcodeCheckForm(request.GET or None)
    context: dict = {"form": form, "lookup": None, "next_delivery": None}
    if not form.is_bound or not form.is_valid():
        return context
    lookup = postcode_lookup(
        postcode=form.cleaned_data["postcode"], commune=form.cleaned_data["commune"]
    )
    context["lookup"] = lookup
    if lookup.is_served:
        context["next_delivery"] = district_next_delivery(district=lookup.district)
        # Remembered for the cart page's delivery estimate.
        request.session[SESSION_DISTRICT_KEY] = lookup.district.pk
    if lookup.status in (Eligibility.UNKNOWN, Eligibility.NOT_SERVED) or (
        context["next_delivery"] is not None and context["next_delivery"].is_full
    ):
        context["waitlist_form"] = WaitlistForm(
            initial={"postcode": lookup.postcode, "commune": form.cleaned_data["commune"]}
        )
    return context


@require_GET
def postcode_check_page(request: HttpRequest) -> HttpResponse:
    return render(request, "delivery/postcode_check_page.html", _check_context(request))


@require_GET
def postcode_check_fragment(request: HttpRequest) -> HttpResponse:
    """The result alone, for the form included in other pages (fetched by a few lines of JS)."""
    return render(request, "delivery/partials/postcode_result.html", _check_context(request))


@require_http_methods(["GET", "POST"])
def waitlist_join_page(request: HttpRequest) -> HttpResponse:
    form = WaitlistForm(request.POST or None, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        entry = waitlist_join(
            email=form.cleaned_data["email"],
            postcode=form.cleaned_data["postcode"],
            commune=form.cleaned_data["commune"],
            consent_text=str(WAITLIST_CONSENT),
        )
        return render(request, "delivery/waitlist_thanks.html", {"entry": entry})
    status = 400 if form.is_bound else 200
    return render(request, "delivery/waitlist_page.html", {"waitlist_form": form}, status=status)
