"""The weekly renewal: one order and at most one charge per subscription and delivery date,
against PostgreSQL and a real localstripe; the dispatcher and its outbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from oscar.apps.order.models import Order

from baskets.models import RenewalOutbox, RenewalStatus, SubscriptionRenewal, SubscriptionStatus
from baskets.services.renewal import (
    renewal_dates_due,
    renewal_outbox_done,
    renewals_dispatch,
    renewals_outbox_sweep,
    subscription_renew,
    subscriptions_due,
)
from baskets.services.subscriptions import subscription_cancel, subscription_skip
from delivery.models import DeliveryDate, OrderDelivery
from essentiels.oscar_forks.partner.models import StockRecord
from payments.models import StripeOperation
from tests.baskets.subscription_factories import (
    AFTER_CUTOFF,
    BEFORE_CUTOFF,
    DELIVERY,
    NEXT_DELIVERY,
    subscription_create,
)
from tests.conftest import race
from tests.delivery.factories import DistrictFactory
from tests.payments.conftest import (  # noqa: F401 — fixtures
    WEBHOOK_SECRET,
    customer_with_card,
    intents_for_order,
    localstripe_url,
    stripe_api,
)

DECLINED_ON_CHARGE = "4000000000000341"  # attaches fine, declined when charged


@pytest.fixture(autouse=True)
def _stripe_settings(settings, localstripe_url):  # noqa: F811
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_renewals"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_renewals"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def subscribed(customer_with_card):  # noqa: F811
    """``subscribed(card=…, **fields)``: a subscription paying with a card saved on localstripe."""

    def make(card: str = "4242424242424242", **fields):
        customer_id, payment_method_id = customer_with_card(card)
        return subscription_create(
            customer_id=customer_id, payment_method_id=payment_method_id, **fields
        )

    return make


def ops(order_number: str, kind: str) -> list[StripeOperation]:
    return list(StripeOperation.objects.filter(order_number=order_number, kind=kind))


@pytest.mark.django_db
def test_renewal_places_one_paid_order_at_the_current_price_on_its_date(subscribed, stripe_api):  # noqa: F811
    # given a subscription taken at 60 €, and the basket now sold at 65 €
    subscription = subscribed(price="60.00")
    StockRecord.objects.filter(product=subscription.variant.product).update(price=Decimal("65.00"))
    # when the cutoff of the 8th has passed and the renewal runs
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    # then one order at 65 € + the district's 4.90 € delivery fee, paid
    assert renewal.status == RenewalStatus.PAID
    order = Order.objects.get()
    assert renewal.order == order
    assert order.user == subscription.user
    line = order.lines.get()
    assert line.product == subscription.variant.product
    assert line.unit_price_incl_tax == Decimal("65.00")
    assert order.total_incl_tax == Decimal("69.90")
    # with its current composition kept on the line
    assert [c["quantity"] for c in line.cost.composition] == [2]
    # delivered on exactly the 8th, although its cutoff has passed
    delivery = OrderDelivery.objects.get(order=order)
    assert (delivery.delivery_date, delivery.status) == (DELIVERY, OrderDelivery.Status.BOOKED)
    assert DeliveryDate.objects.get(district=subscription.district, date=DELIVERY).booked == 1
    assert order.shipping_address.postcode == "75013"
    # and the money captured once, off-session
    intents = intents_for_order(stripe_api, order.number)
    assert [(pi.status, pi.amount) for pi in intents] == [("succeeded", 6990)]
    assert len(ops(order.number, StripeOperation.Kind.CAPTURE)) == 1
    assert ops(order.number, StripeOperation.Kind.PAYMENT_INTENT)[0].request["off_session"] is True
    assert order.sources.get().amount_debited == Decimal("69.90")


@pytest.mark.django_db
def test_a_rerun_after_success_changes_nothing(subscribed, stripe_api):  # noqa: F811
    subscription = subscribed()
    first = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    before = list(StripeOperation.objects.values_list("idempotency_key", "attempts", "status"))
    # when the task runs again (a redelivery, a duplicate beat tick)
    again = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    # then the same renewal, one order, no new Stripe call, one place booked
    assert again.pk == first.pk
    assert again.status == RenewalStatus.PAID
    assert Order.objects.count() == 1
    assert list(StripeOperation.objects.values_list("idempotency_key", "attempts", "status")) == (
        before
    )
    assert len(intents_for_order(stripe_api, first.order.number)) == 1
    assert DeliveryDate.objects.get(date=DELIVERY).booked == 1


@pytest.mark.django_db(transaction=True)
def test_two_renewals_racing_make_one_order_and_one_charge(subscribed, stripe_api):  # noqa: F811
    subscription = subscribed()
    # when two workers renew the same subscription for the same date at once
    results = race(
        2,
        subscription_renew,
        subscription_id=subscription.pk,
        delivery_date=DELIVERY,
        now=AFTER_CUTOFF,
    )
    # then both see the same paid renewal
    assert all(isinstance(r, SubscriptionRenewal) for r in results), results
    assert {r.pk for r in results} == {SubscriptionRenewal.objects.get().pk}
    assert SubscriptionRenewal.objects.get().status == RenewalStatus.PAID
    # and there is one order, one place booked, one PaymentIntent, one capture
    order = Order.objects.get()
    assert DeliveryDate.objects.get(date=DELIVERY).booked == 1
    assert OrderDelivery.objects.count() == 1
    intents = intents_for_order(stripe_api, order.number)
    assert [pi.status for pi in intents] == ["succeeded"]
    assert len(ops(order.number, StripeOperation.Kind.PAYMENT_INTENT)) == 1
    assert len(ops(order.number, StripeOperation.Kind.CAPTURE)) == 1
    assert order.payment_events.filter(event_type__name="Capture").count() == 1


@pytest.mark.django_db
def test_a_declined_card_keeps_the_order_and_plans_a_retry(
    subscribed,
    stripe_api,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    subscription = subscribed(card=DECLINED_ON_CHARGE)
    # when the renewal charges a card the bank declines
    with django_capture_on_commit_callbacks(execute=True):
        renewal = subscription_renew(
            subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
        )
    # then the renewal is declined with a message and a retry 8 hours later (the default)
    assert renewal.status == RenewalStatus.DECLINED
    assert "refusée" in renewal.error  # the payments message, in French
    assert renewal.next_retry_at == AFTER_CUTOFF + timedelta(hours=8)
    # the subscription itself stays active
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    # the order and its place are kept until the payment deadline; no money was captured
    order = renewal.order
    order.refresh_from_db()
    assert order.status != "Annulée"
    assert DeliveryDate.objects.get(date=DELIVERY).booked == 1
    assert not ops(order.number, StripeOperation.Kind.CAPTURE)
    assert all(pi.status != "succeeded" for pi in intents_for_order(stripe_api, order.number))
    # the shopper is emailed, in French, with a link to pay with another card
    assert len(mailoutbox) == 1
    assert "Problème de paiement" in mailoutbox[0].subject
    assert f"/paniers/compte/abonnements/paiements/{renewal.pk}/" in mailoutbox[0].body
    # a re-run neither charges again nor emails again
    with django_capture_on_commit_callbacks(execute=True):
        again = subscription_renew(
            subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
        )
    assert again.status == RenewalStatus.DECLINED
    assert ops(order.number, StripeOperation.Kind.PAYMENT_INTENT)[0].attempts == 1
    assert len(ops(order.number, StripeOperation.Kind.PAYMENT_INTENT)) == 1
    assert len(mailoutbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "state", ["skipped", "paused", "cancelled", "not started", "before the cutoff"]
)
def test_subscriptions_not_delivered_that_date_create_nothing(state, stripe_api):  # noqa: F811
    subscription = subscription_create(
        starts_on=NEXT_DELIVERY if state == "not started" else DELIVERY
    )
    now = BEFORE_CUTOFF if state == "before the cutoff" else AFTER_CUTOFF
    if state == "skipped":
        subscription_skip(
            subscription_id=subscription.pk, delivery_date=DELIVERY, now=BEFORE_CUTOFF
        )
    elif state == "paused":
        subscription.status = SubscriptionStatus.PAUSED
        subscription.paused_until = NEXT_DELIVERY
        subscription.paused_at = BEFORE_CUTOFF
        subscription.save()
    elif state == "cancelled":
        subscription_cancel(subscription_id=subscription.pk, now=BEFORE_CUTOFF)
    # when the renewal runs
    result = subscription_renew(subscription_id=subscription.pk, delivery_date=DELIVERY, now=now)
    # then nothing at all was created or charged
    assert result is None
    assert not SubscriptionRenewal.objects.exists()
    assert not Order.objects.exists()
    assert not StripeOperation.objects.exists()
    assert not DeliveryDate.objects.filter(booked__gt=0).exists()
    assert not subscriptions_due(delivery_date=DELIVERY, now=now).exists()


@pytest.mark.django_db
def test_a_withdrawn_basket_fails_the_renewal_without_order_or_charge():
    subscription = subscription_create()
    subscription.variant.product.is_public = False
    subscription.variant.product.save()
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    assert renewal.status == RenewalStatus.FAILED
    assert renewal.order is None
    assert "pas en vente" in renewal.error
    assert not Order.objects.exists()
    assert not StripeOperation.objects.exists()
    assert not DeliveryDate.objects.filter(booked__gt=0).exists()


@pytest.mark.django_db
def test_due_subscriptions_are_those_of_the_district_once_its_cutoff_passed():
    # given subscriptions: active Tuesday, skipped Tuesday, and one in a Wednesday district
    due = subscription_create()
    skipped = subscription_create(district=due.district, variant=due.variant)
    subscription_skip(subscription_id=skipped.pk, delivery_date=DELIVERY, now=BEFORE_CUTOFF)
    subscription_create(
        district=DistrictFactory(weekday=2, postcodes=["94200"]), variant=due.variant
    )
    # then before the cutoff none is due, after it only the active Tuesday one
    assert list(subscriptions_due(delivery_date=DELIVERY, now=BEFORE_CUTOFF)) == []
    assert list(subscriptions_due(delivery_date=DELIVERY, now=AFTER_CUTOFF)) == [due.pk]


@pytest.mark.django_db
def test_dispatch_writes_the_outbox_in_chunks_and_enqueues_after_commit(
    django_capture_on_commit_callbacks,
):
    first = subscription_create()
    others = [subscription_create(district=first.district, variant=first.variant) for _ in range(4)]
    enqueued: list = []
    # when the dispatcher runs after the cutoff, in chunks of two
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        written = renewals_dispatch(
            enqueue=lambda pk, day: enqueued.append((pk, day)), now=AFTER_CUTOFF, chunk_size=2
        )
    # then one outbox row and one task per subscription, enqueued chunk by chunk after commit
    ids = sorted([first.pk] + [s.pk for s in others])
    assert written == 5
    assert len(callbacks) == 3
    assert enqueued == [(pk, DELIVERY) for pk in ids]
    assert sorted(RenewalOutbox.objects.values_list("subscription_id", flat=True)) == ids
    # and a second tick (a duplicate beat) finds nothing left to dispatch
    with django_capture_on_commit_callbacks(execute=True):
        assert renewals_dispatch(enqueue=enqueued.append, now=AFTER_CUTOFF) == 0
    assert len(enqueued) == 5


@pytest.mark.django_db
def test_sweeper_enqueues_again_only_stale_unfinished_rows(django_capture_on_commit_callbacks):
    subscription = subscription_create()
    other = subscription_create(district=subscription.district, variant=subscription.variant)
    third = subscription_create(district=subscription.district, variant=subscription.variant)
    # given a row enqueued 20 minutes ago and never done (the process died after commit)
    stale = RenewalOutbox.objects.create(
        subscription=subscription,
        delivery_date=DELIVERY,
        enqueued_at=AFTER_CUTOFF - timedelta(minutes=20),
    )
    # a row done, and one enqueued 2 minutes ago (its task may still be running)
    RenewalOutbox.objects.create(
        subscription=other,
        delivery_date=DELIVERY,
        enqueued_at=AFTER_CUTOFF - timedelta(minutes=20),
        done_at=AFTER_CUTOFF - timedelta(minutes=19),
    )
    RenewalOutbox.objects.create(
        subscription=third, delivery_date=DELIVERY, enqueued_at=AFTER_CUTOFF - timedelta(minutes=2)
    )
    enqueued: list = []
    # when the sweeper runs
    with django_capture_on_commit_callbacks(execute=True):
        count = renewals_outbox_sweep(
            enqueue=lambda pk, day: enqueued.append((pk, day)),
            now=AFTER_CUTOFF,
            older_than=timedelta(minutes=15),
        )
    # then only the stale row is enqueued again, and stamped so the next sweep waits
    assert count == 1
    assert enqueued == [(subscription.pk, DELIVERY)]
    stale.refresh_from_db()
    assert stale.enqueued_at == AFTER_CUTOFF
    with django_capture_on_commit_callbacks(execute=True):
        assert renewals_outbox_sweep(enqueue=enqueued.append, now=AFTER_CUTOFF) == 0


@pytest.mark.django_db
def test_outbox_row_is_done_only_once_the_renewal_is_settled():
    subscription = subscription_create()
    row = RenewalOutbox.objects.create(
        subscription=subscription, delivery_date=DELIVERY, enqueued_at=AFTER_CUTOFF
    )
    ordered = SubscriptionRenewal(status=RenewalStatus.ORDERED)
    assert not renewal_outbox_done(
        subscription_id=subscription.pk, delivery_date=DELIVERY, renewal=ordered
    )
    row.refresh_from_db()
    assert row.done_at is None
    # nothing to create (skipped, paused…) counts as done
    assert renewal_outbox_done(
        subscription_id=subscription.pk, delivery_date=DELIVERY, renewal=None
    )
    row.refresh_from_db()
    assert row.done_at is not None


@pytest.mark.django_db
def test_a_card_needing_3d_secure_keeps_the_order_and_waits_for_the_shopper(subscribed, stripe_api):  # noqa: F811
    # given a card whose bank wants 3-D Secure (localstripe answers 200 requires_action)
    subscription = subscribed(card="4000002500003155")
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    # then the renewal waits for the shopper: its intent is kept, nothing is captured
    assert renewal.status == RenewalStatus.REQUIRES_ACTION
    assert renewal.payment_intent_id.startswith("pi_")
    assert not ops(renewal.order.number, StripeOperation.Kind.CAPTURE)
    # and the order and its delivery stay booked until the shopper answers or time runs out
    assert OrderDelivery.objects.get(order=renewal.order).status == OrderDelivery.Status.BOOKED
    assert DeliveryDate.objects.get(date=DELIVERY).booked == 1


@pytest.mark.django_db
def test_renew_task_marks_the_outbox_done_when_there_is_nothing_to_create():
    from baskets.tasks import subscription_renew_task

    # given a cancelled subscription whose renewal was dispatched
    subscription = subscription_create()
    subscription_cancel(subscription_id=subscription.pk)
    RenewalOutbox.objects.create(
        subscription=subscription, delivery_date=DELIVERY, enqueued_at=AFTER_CUTOFF
    )
    # when the task runs (in this thread: the task is a thin wrapper)
    result = subscription_renew_task(
        subscription_id=subscription.pk, delivery_date=DELIVERY.isoformat()
    )
    # then nothing was created and the sweeper will not send it again
    assert result is None
    assert not Order.objects.exists()
    assert RenewalOutbox.objects.get().done_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["cancel", "pause"])
def test_a_change_after_the_cutoff_applies_from_the_following_delivery(change, subscribed):
    from baskets.services.subscriptions import subscription_pause

    subscription = subscribed()
    # given the shopper cancels (or pauses) after the cutoff, before the renewal task ran
    if change == "cancel":
        subscription_cancel(subscription_id=subscription.pk, now=AFTER_CUTOFF)
    else:
        subscription_pause(subscription_id=subscription.pk, until=NEXT_DELIVERY, now=AFTER_CUTOFF)
    # then the 8th, fixed at the cutoff, is still due and renewed
    assert list(subscriptions_due(delivery_date=DELIVERY, now=AFTER_CUTOFF)) == [subscription.pk]
    later = AFTER_CUTOFF + timedelta(minutes=5)
    renewal = subscription_renew(subscription_id=subscription.pk, delivery_date=DELIVERY, now=later)
    assert renewal.status == RenewalStatus.PAID
    # but the following week is not (cancelled, or paused until the 15th excluded)
    if change == "cancel":
        next_cutoff = AFTER_CUTOFF + timedelta(days=7)
        assert not subscriptions_due(delivery_date=NEXT_DELIVERY, now=next_cutoff).exists()


@pytest.mark.django_db
def test_a_pause_before_the_cutoff_stops_that_delivery():
    from baskets.services.subscriptions import subscription_pause

    subscription = subscription_create()
    subscription_pause(subscription_id=subscription.pk, until=NEXT_DELIVERY, now=BEFORE_CUTOFF)
    assert not subscriptions_due(delivery_date=DELIVERY, now=AFTER_CUTOFF).exists()
    assert (
        subscription_renew(
            subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
        )
        is None
    )
    # and deliveries resume on the 15th
    next_cutoff = AFTER_CUTOFF + timedelta(days=7)
    assert list(subscriptions_due(delivery_date=NEXT_DELIVERY, now=next_cutoff)) == [
        subscription.pk
    ]


def test_dates_due_are_those_whose_cutoff_passed_from_tomorrow_on():
    # Sunday 13:00: Monday's and Tuesday's cutoffs (Saturday and Sunday noon) have passed
    assert renewal_dates_due(now=AFTER_CUTOFF) == [DELIVERY - timedelta(days=1), DELIVERY]
    # Friday 10:00: only Sunday's (Friday 12:00) has not; Saturday's (Thursday) has
    assert renewal_dates_due(now=BEFORE_CUTOFF) == [BEFORE_CUTOFF.date() + timedelta(days=1)]


@pytest.mark.django_db
def test_stripe_unreachable_leaves_the_order_for_a_rerun_that_charges_it_once(
    subscribed,
    settings,
    localstripe_url,  # noqa: F811
    stripe_api,  # noqa: F811
):
    from tests.payments.conftest import free_port

    subscription = subscribed()
    row = RenewalOutbox.objects.create(
        subscription=subscription, delivery_date=DELIVERY, enqueued_at=AFTER_CUTOFF
    )
    # given Stripe cannot be reached when the renewal runs (nothing listens on that port)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    # then the order is kept and booked, not charged, and the outbox row stays for the sweeper
    assert renewal.status == RenewalStatus.ORDERED
    assert renewal.error
    assert not renewal_outbox_done(
        subscription_id=subscription.pk, delivery_date=DELIVERY, renewal=renewal
    )
    row.refresh_from_db()
    assert row.done_at is None
    # when Stripe is back and the sweeper's re-run comes
    settings.STRIPE_API_BASE = localstripe_url
    again = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    # then the same order is charged, once
    assert again.pk == renewal.pk
    assert again.status == RenewalStatus.PAID
    assert Order.objects.count() == 1
    assert DeliveryDate.objects.get(date=DELIVERY).booked == 1
    order = again.order
    assert [pi.status for pi in intents_for_order(stripe_api, order.number)] == ["succeeded"]
    assert len(ops(order.number, StripeOperation.Kind.CAPTURE)) == 1


@pytest.mark.django_db
def test_a_cutoff_tick_renews_every_due_subscription(
    subscribed, django_capture_on_commit_callbacks
):
    # given three subscribers in the district, one of whom skipped the week
    subscriptions = [subscribed(), subscribed(), subscribed()]
    subscription_skip(
        subscription_id=subscriptions[2].pk, delivery_date=DELIVERY, now=BEFORE_CUTOFF
    )
    enqueued: list = []
    # when the beat tick after the cutoff dispatches and the workers run what was enqueued
    with django_capture_on_commit_callbacks(execute=True):
        renewals_dispatch(enqueue=lambda pk, day: enqueued.append((pk, day)), now=AFTER_CUTOFF)
    for subscription_id, day in enqueued:
        renewal = subscription_renew(
            subscription_id=subscription_id, delivery_date=day, now=AFTER_CUTOFF
        )
        renewal_outbox_done(subscription_id=subscription_id, delivery_date=day, renewal=renewal)
    # then the two others are paid, and nothing is left for the sweeper
    paid = SubscriptionRenewal.objects.filter(status=RenewalStatus.PAID)
    assert sorted(paid.values_list("subscription_id", flat=True)) == [
        subscriptions[0].pk,
        subscriptions[1].pk,
    ]
    assert Order.objects.count() == 2
    assert DeliveryDate.objects.get(date=DELIVERY).booked == 2
    assert not RenewalOutbox.objects.filter(done_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_beat_ticks_racing_write_each_outbox_row_once():
    first = subscription_create()
    ids = [first.pk] + [
        subscription_create(district=first.district, variant=first.variant).pk for _ in range(5)
    ]
    enqueued: list = []
    # when two dispatchers (two beat processes started by mistake) run at once
    results = race(
        2,
        renewals_dispatch,
        enqueue=lambda pk, day: enqueued.append((pk, day)),
        now=AFTER_CUTOFF,
        chunk_size=2,
    )
    # then neither fails, each (subscription, date) has one outbox row, and every one was
    # enqueued (a few perhaps twice: the renewal itself is idempotent)
    assert all(isinstance(result, int) for result in results), results
    assert sorted(RenewalOutbox.objects.values_list("subscription_id", flat=True)) == sorted(ids)
    assert {pk for pk, _ in enqueued} == set(ids)
