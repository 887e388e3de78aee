"""Stripe's webhook endpoint and the staff refund action. Thin: the work is in services."""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oscar.apps.order.models import Order

from payments.exceptions import PaymentError
from payments.forms import RefundForm
from payments.selectors import order_authorisation
from payments.services.refunds import refund_create
from payments.services.webhooks import stripe_event_record

logger = logging.getLogger("payments")

# Seconds a signed webhook stays valid: older ones are replays or clock trouble.
WEBHOOK_TOLERANCE = 300


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    payload = request.body
    signature = request.headers.get("Stripe-Signature", "")
    try:
        stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=WEBHOOK_TOLERANCE
        )
        # The verified raw JSON, not the SDK's object: that is what we store and process.
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        logger.warning("stripe webhook rejected from %s: %s", request.META.get("REMOTE_ADDR"), exc)
        return HttpResponseBadRequest("invalid signature")
    if not isinstance(event, dict) or not event.get("id"):
        logger.warning("stripe webhook without an event id rejected")
        return HttpResponseBadRequest("invalid event")
    row, created = stripe_event_record(event=event)
    if row.status == row.Status.IGNORED:
        logger.info("stripe webhook %s of unhandled type %s acknowledged", row.event_id, row.type)
    elif not created and row.status != row.Status.RECEIVED:
        logger.info("stripe webhook %s replayed: already %s", row.event_id, row.status)
    else:
        # New, or a replay of an event still waiting (its first task was never queued: the
        # broker was down): queue it. Processing is once per event whatever the queue does.
        transaction.on_commit(lambda: stripe_event_enqueue(event_pk=row.pk))
    return HttpResponse(status=200)


def stripe_event_enqueue(*, event_pk: int) -> None:
    """Queue the event's processing; with the broker down the event stays recorded as
    received and the sweeper (beat) or Stripe's next delivery queues it again."""
    from payments.tasks import stripe_event_process_task

    try:
        stripe_event_process_task.delay(event_pk=event_pk)
    except Exception:
        logger.exception("stripe event %s could not be queued: left for the sweeper", event_pk)


@require_POST
@permission_required("order.change_order", raise_exception=True)
def refund(request: HttpRequest) -> HttpResponse:
    form = RefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The refund form is not valid."))
        return redirect(reverse("dashboard:order-list"))
    order = get_object_or_404(Order, number=form.cleaned_data["order_number"])
    back = reverse("dashboard:order-detail", kwargs={"number": order.number})
    authorisation = order_authorisation(order_number=order.number)
    if authorisation is None:
        messages.error(request, _("This order was not paid through Stripe."))
        return redirect(back)
    try:
        op = refund_create(
            order_number=order.number,
            payment_intent_id=authorisation.stripe_id,
            amount=form.cleaned_data["amount"],
            by_user_id=request.user.pk,
            sequence=form.cleaned_data["sequence"],
        )
    except PaymentError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        _("Refund of %(amount)s € recorded (%(id)s).") % {"amount": op.amount, "id": op.stripe_id},
    )
    return redirect(back)
