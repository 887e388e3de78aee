"""Shopper pages: the waiting list of a basket closed to new subscribers."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from baskets.models import BasketVariant
from supply.services.caps import variant_cap_reason
from supply.services.waitlist import waitlist_join


class WaitlistForm(forms.Form):
    email = forms.EmailField(label=_("Your email"))


def waitlist_view(request: HttpRequest, variant_id: int) -> HttpResponse:
    variant = BasketVariant.objects.select_related("product").filter(pk=variant_id).first()
    if variant is None:
        raise Http404
    initial = {"email": request.user.email} if request.user.is_authenticated else {}
    form = WaitlistForm(request.POST or None, initial=initial)
    joined = False
    if request.method == "POST" and form.is_valid():
        waitlist_join(
            variant_id=variant.pk,
            email=form.cleaned_data["email"],
            user_id=request.user.pk if request.user.is_authenticated else None,
        )
        joined = True
    context = {
        "variant": variant,
        "form": form,
        "joined": joined,
        "reason": variant_cap_reason(variant_id=variant.pk),
    }
    return render(request, "supply/waitlist.html", context)
