"""Errors our payment services raise. Each carries a message fit to show the shopper (or the
staff member), translated; the Stripe details go to the log and the ledger, never to a page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class PaymentError(Exception):
    """Stripe refused or could not be reached. ``message`` is for people, ``code`` for code."""

    default_message = _("The payment could not be processed. Please try again.")

    def __init__(self, message: str | None = None, *, code: str = "payment_error") -> None:
        self.message = str(message or self.default_message)
        self.code = code
        super().__init__(self.message)


class PaymentDeclined(PaymentError):
    default_message = _(
        "Your card was declined. No money was taken; please try another card or contact your bank."
    )


class PaymentUnavailable(PaymentError):
    """Network error or rate limit: the outcome may be unknown, the ledger row stays pending."""

    default_message = _(
        "Our payment service is not answering right now. Please try again in a few minutes."
    )


class PaymentConflict(PaymentError):
    """The same idempotency key came back with other parameters (a tampered amount…)."""

    default_message = _("This payment does not match the order. Please reload the page.")
