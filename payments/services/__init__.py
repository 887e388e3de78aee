"""Payment services, split by topic. The checkout imports from here:

stripe_customer_ensure, setup_intent_create, payment_intent_authorise,
payment_intent_capture, payment_intent_cancel, refund_create, payments_reconcile,
payment_intent_succeeded_handle (extension point: order creation from the webhook).
"""

from payments.services.customers import stripe_customer_ensure
from payments.services.intents import (
    AuthorisationResult,
    payment_intent_authorise,
    payment_intent_cancel,
    payment_intent_capture,
    setup_intent_create,
)
from payments.services.reconcile import ReconcileReport, payments_reconcile
from payments.services.refunds import refund_create, refund_next_sequence
from payments.services.webhooks import (
    payment_intent_succeeded_handle,
    stripe_event_process,
    stripe_event_record,
)

__all__ = [
    "AuthorisationResult",
    "ReconcileReport",
    "payment_intent_authorise",
    "payment_intent_cancel",
    "payment_intent_capture",
    "payment_intent_succeeded_handle",
    "payments_reconcile",
    "refund_create",
    "refund_next_sequence",
    "setup_intent_create",
    "stripe_customer_ensure",
    "stripe_event_process",
    "stripe_event_record",
]
