"""The shopper's "My data" page (/compte/donnees/): their marketing consent, their data as JSON,
and closing their account. Thin: privacy/services.py and selectors.py do the work."""

from __future__ import annotations

import json
import logging

import stripe
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from privacy.forms import AccountCloseForm, MarketingConsentForm
from privacy.models import ConsentPurpose, ConsentSource
from privacy.selectors import consent_active, privacy_export
from privacy.services import (
    AccountClosureError,
    account_close,
    account_closure_blockers,
    consent_give,
    consent_withdraw,
)
from privacy.wording import consent_wording

logger = logging.getLogger("privacy")


def _page(request: HttpRequest, *, consent_form=None, close_form=None, status: int = 200):
    consent = consent_active(user_id=request.user.pk, purpose=ConsentPurpose.MARKETING_EMAIL)
    context = {
        "active_tab": "privacy",
        "consent": consent,
        "consent_form": consent_form
        or MarketingConsentForm(initial={"marketing_email": consent is not None}),
        "close_form": close_form or AccountCloseForm(user=request.user),
        "blockers": account_closure_blockers(user_id=request.user.pk),
    }
    return render(request, "privacy/my_data.html", context, status=status)


@never_cache
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    return _page(request)


@never_cache
@login_required
@require_POST
def consent_update(request: HttpRequest) -> HttpResponse:
    form = MarketingConsentForm(request.POST)
    form.is_valid()  # a box: always valid, absent means unticked
    if form.cleaned_data.get("marketing_email"):
        consent_give(
            user_id=request.user.pk,
            purpose=ConsentPurpose.MARKETING_EMAIL,
            wording=consent_wording(ConsentPurpose.MARKETING_EMAIL),
            language=get_language(),
            source=ConsentSource.ACCOUNT,
        )
        messages.success(request, _("Thank you: you will receive our news and offers by email."))
    else:
        if consent_withdraw(
            user_id=request.user.pk,
            purpose=ConsentPurpose.MARKETING_EMAIL,
            source=ConsentSource.ACCOUNT,
        ):
            messages.success(request, _("Done: you will no longer receive our news and offers."))
    return redirect("privacy:my-data")


@never_cache
@login_required
def data_export(request: HttpRequest) -> HttpResponse:
    document = privacy_export(user_id=request.user.pk)
    response = HttpResponse(
        json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="les-essentiels-mes-donnees-{stamp}.json"'
    )
    return response


# Not one request-wide transaction: the service cancels subscriptions (their emails go out on
# commit), deletes the card at Stripe, then anonymises in its own transaction.
@transaction.non_atomic_requests
@never_cache
@login_required
@require_POST
def account_close_view(request: HttpRequest) -> HttpResponse:
    form = AccountCloseForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, close_form=form, status=400)
    try:
        account_close(user_id=request.user.pk)
    except AccountClosureError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("privacy:my-data")
    except stripe.StripeError:
        logger.exception("account %s: closing failed at Stripe", request.user.pk)
        messages.error(
            request,
            _(
                "We could not remove your saved card from our payment provider just now: nothing "
                "was changed. Please try again in a few minutes."
            ),
        )
        return redirect("privacy:my-data")
    logout(request)
    messages.success(
        request,
        _(
            "Your account is closed. Your personal data has been erased; your past orders are "
            "kept, without your name or address, for our accounts."
        ),
    )
    return redirect("/")
