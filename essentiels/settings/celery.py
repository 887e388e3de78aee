"""Celery settings (namespace CELERY_). Brokers and eagerness are set per environment."""

from celery.schedules import crontab

CELERY_TIMEZONE = "Europe/Paris"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged only once it has run, and a worker killed mid-task puts it back on the
# queue: tasks must therefore be idempotent (they take ids and re-check state).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_RESULT_EXPIRES = 24 * 3600
# With acks_late, Redis redelivers an unacknowledged task after this delay: it must exceed the
# longest task (the hard time limit above).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

CELERY_BEAT_SCHEDULE = {
    # Every night at 03:30 Paris time: delete expired shopper sessions (cached_db leaves rows).
    "clear-expired-sessions": {
        "task": "essentiels.tasks.sessions_clear_expired_task",
        "schedule": crontab(hour=3, minute=30),
    },
}

# Delivery: every 10 minutes, email shoppers whose delivery moved and who were not told yet
# (normally sent by the reschedule task itself; this catches a worker that died in between).
CELERY_BEAT_SCHEDULE["delivery-moves-notify"] = {
    "task": "delivery.tasks.delivery_moves_notify_task",
    "schedule": crontab(minute="*/10"),
}

# Payments: every minute, process the webhook events whose task was never queued (broker down)
# or was lost (Stripe retries them too; each is processed once).
CELERY_BEAT_SCHEDULE["payments-webhook-events-sweep"] = {
    "task": "payments.tasks.stripe_events_sweep_task",
    "schedule": 60.0,
}

# Payments: every 15 minutes, compare the last day's PaymentIntents on Stripe with our ledger and
# repair what a missed webhook or a crashed worker left (pending rows, orphan authorisations).
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "payments.tasks.payments_reconcile_task",
    "schedule": crontab(minute="*/15"),
}

# Subscriptions: every minute, write an outbox row and enqueue a renewal task for every
# subscription whose district's cutoff has passed for a delivery date still to come (a cutoff
# is a fixed moment, so the tick right after it renews that date; later ticks find nothing
# left to do, in one query). Every minute keeps short the moment after a cutoff when a basket
# or address change must wait for the fixed order to exist.
CELERY_BEAT_SCHEDULE["subscriptions-renewals-dispatch"] = {
    "task": "baskets.tasks.renewals_dispatch_task",
    "schedule": crontab(minute="*"),
}

# Subscriptions: every 10 minutes, enqueue again renewals written to the outbox more than 15
# minutes ago and still not done (a process died between commit and enqueue, a task was lost).
CELERY_BEAT_SCHEDULE["subscriptions-renewals-outbox-sweep"] = {
    "task": "baskets.tasks.renewals_outbox_sweep_task",
    "schedule": crontab(minute="*/10"),
}

# Subscriptions: every 10 minutes, send again subscription emails whose send failed (SMTP down)
# or whose process died between commit and send.
CELERY_BEAT_SCHEDULE["subscriptions-emails-resend"] = {
    "task": "baskets.tasks.subscription_messages_resend_task",
    "schedule": crontab(minute="*/10"),
}

# Subscriptions: every 10 minutes, cancel the deliveries still unpaid at their payment deadline
# (the day before delivery), charge again renewals left half-way (Stripe unreachable), and
# enqueue the declined charges whose retry is due.
CELERY_BEAT_SCHEDULE["subscriptions-renewals-recover"] = {
    "task": "baskets.tasks.renewals_recover_task",
    "schedule": crontab(minute="*/10"),
}

# Routes: every 5 minutes, plan the bus routes of each delivery date whose cutoff has passed and
# which has no plan yet, or whose orders or fleet changed since its current plan (a late
# cancellation, a bus taken out of service). Locked routes are kept; ops re-plan on demand too.
CELERY_BEAT_SCHEDULE["routes-plan-after-cutoff"] = {
    "task": "delivery.tasks.route_plans_dispatch_task",
    "schedule": crontab(minute="*/5"),
}

# Subscriptions: every hour, tell subscribers about basket price or composition changes that no
# signal announced (bulk writes) or whose task was lost; each state is announced once.
CELERY_BEAT_SCHEDULE["subscriptions-basket-change-notices"] = {
    "task": "baskets.tasks.variant_change_notices_sweep_task",
    "schedule": crontab(minute=0),
}

# Supply: every night at 02:45 Paris time, recompute the demand forecast of the coming weeks,
# the reservations it implies and the baskets capped for new subscribers (changes during the
# day schedule a debounced refresh too).
CELERY_BEAT_SCHEDULE["supply-forecast-refresh"] = {
    "task": "supply.tasks.supply_forecast_refresh_task",
    "schedule": crontab(hour=2, minute=45),
}
