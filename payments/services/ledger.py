"""The ledger: every write to Stripe goes through ``stripe_operation_run``.

1. The row (idempotency key UNIQUE) is inserted and committed before Stripe is called.
2. The row is locked (SELECT … FOR UPDATE) for the duration of the call, so racing callers
   queue behind it; once it succeeded, they get the recorded result and Stripe is not called.
3. The outcome is written on the row: succeeded (with the Stripe id and a small result),
   failed (Stripe said no: replayed as the same error), or still pending (network error or
   rate limit: the outcome is unknown, a retry calls Stripe again with the same key, which real
   Stripe deduplicates, and the reconciliation looks at it).

Called outside a transaction (a Celery task, a non-atomic view), steps 1 and 3 are real commits.
Inside a caller's transaction they are savepoints: still exactly-once, but a crash rolls the
pending row back with everything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import stripe
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from payments.exceptions import PaymentConflict, PaymentDeclined, PaymentError, PaymentUnavailable
from payments.models import StripeOperation

logger = logging.getLogger("payments")

CENT = Decimal("0.01")
ALLOWED_CURRENCIES = ("EUR",)


def amount_to_cents(*, amount: Decimal) -> int:
    """Euros (Decimal, two places at most, positive) to Stripe's integer cents."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise PaymentConflict(_("The amount is not valid."), code="invalid_amount")
    if amount <= 0 or amount.quantize(CENT, rounding=ROUND_HALF_UP) != amount:
        raise PaymentConflict(_("The amount is not valid."), code="invalid_amount")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cents_to_amount(*, cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def currency_check(*, currency: str) -> str:
    """Our currency code (upper case), refusing anything we do not sell in."""
    code = (currency or "").upper()
    if code not in ALLOWED_CURRENCIES:
        raise PaymentConflict(_("This currency is not accepted."), code="invalid_currency")
    return code


def stripe_operation_run(
    *,
    idempotency_key: str,
    kind: str,
    call: Callable[[str], Any],
    record: Callable[[Any], dict[str, Any]],
    order_number: str | None = None,
    amount: Decimal | None = None,
    currency: str = "",
    request: dict[str, Any] | None = None,
    before_call: Callable[[StripeOperation], None] | None = None,
) -> StripeOperation:
    """Run ``call(idempotency_key)`` at most once successfully for this key; return the row.

    ``record(stripe_object)`` returns what to keep (a JSON dict with at least ``id``);
    ``before_call(op)`` runs inside the lock before Stripe is called (checks that need the
    ledger as it is, such as the refundable balance) and may raise ``PaymentError``.
    Raises ``PaymentDeclined`` / ``PaymentError`` / ``PaymentUnavailable`` with a shopper
    message; a replay of a failed key raises the same error again without calling Stripe.
    """
    request = request or {}
    with transaction.atomic():
        op, created = StripeOperation.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "kind": kind,
                "order_number": order_number,
                "amount": amount,
                "currency": currency,
                "request": request,
            },
        )
    if not created and (op.kind != kind or op.amount != amount or op.currency != currency):
        # Same key, other parameters: a tampered amount, or a bug. Stripe refuses this too.
        logger.warning(
            "stripe ledger: key %s reused with other parameters (%s %s %s, recorded %s %s %s)",
            idempotency_key, kind, amount, currency, op.kind, op.amount, op.currency,
        )  # fmt: skip
        raise PaymentConflict(code="idempotency_conflict")

    error: PaymentError | None = None
    with transaction.atomic():
        op = StripeOperation.objects.select_for_update().get(pk=op.pk)
        if op.status == StripeOperation.Status.SUCCEEDED:
            logger.info(
                "stripe ledger: %s already succeeded, not calling Stripe", op.idempotency_key
            )
            return op
        if op.status == StripeOperation.Status.FAILED:
            error = _replayed_error(op)
        else:
            try:
                if before_call is not None:
                    before_call(op)
                op.attempts += 1
                result = call(idempotency_key)
            except PaymentError as exc:
                error = exc
                _fail(op, code=exc.code, detail=exc.message, declined=False)
            except stripe.CardError as exc:
                error = PaymentDeclined(code=exc.code or "card_declined")
                _fail(op, code=error.code, detail=_describe(exc), declined=True)
            except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
                # Outcome unknown (the request may have reached Stripe): stays pending.
                error = PaymentUnavailable(code="stripe_unavailable")
                op.error = _describe(exc)
                op.save(update_fields=["attempts", "error", "updated_at"])
                logger.warning("stripe ledger: %s unavailable: %s", op.idempotency_key, op.error)
            except stripe.StripeError as exc:
                error = PaymentError(code=getattr(exc, "code", None) or "stripe_error")
                _fail(op, code=error.code, detail=_describe(exc), declined=False)
            else:
                op.response = record(result)
                op.stripe_id = op.response.get("id", "") or op.stripe_id
                op.stripe_status = op.response.get("status", "") or ""
                op.status = StripeOperation.Status.SUCCEEDED
                op.error = ""
                op.save()
                logger.info("stripe ledger: %s succeeded (%s)", op.idempotency_key, op.stripe_id)
    if error is not None:
        raise error
    return op


def _describe(exc: stripe.StripeError) -> str:
    return f"{type(exc).__name__} http={exc.http_status} code={exc.code}: {exc.user_message or exc}"


def _fail(op: StripeOperation, *, code: str, detail: str, declined: bool) -> None:
    op.status = StripeOperation.Status.FAILED
    op.error = detail
    op.response = {**op.response, "error_code": code, "declined": declined}
    op.save()
    logger.warning("stripe ledger: %s failed: %s", op.idempotency_key, detail)


def _replayed_error(op: StripeOperation) -> PaymentError:
    logger.info("stripe ledger: %s already failed, not calling Stripe again", op.idempotency_key)
    code = op.response.get("error_code", "stripe_error")
    if op.response.get("declined"):
        return PaymentDeclined(code=code)
    return PaymentError(code=code)
