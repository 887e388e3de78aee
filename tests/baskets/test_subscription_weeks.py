"""Time travel over two months of one subscription (time-machine): the beat's ticks at each
cutoff, a skipped week, a pause, a declined card recovered by the shopper, one left unpaid
until the deadline, and the weeks after — through the real dispatcher, outbox, renewal tasks
(run in-process), recovery task, PostgreSQL and localstripe."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from oscar.apps.order.models import Order

from baskets.models import (
    MessageKind,
    RenewalOutbox,
    RenewalStatus,
    SubscriptionMessage,
    SubscriptionRenewal,
    SubscriptionStatus,
)
from baskets.services.recovery import renewal_pay_with_card, renewal_retry, renewals_recover
from baskets.services.renewal import renewals_dispatch
from baskets.services.subscriptions import subscription_pause, subscription_skip
from baskets.tasks import subscription_renew_task
from delivery.calendar import PARIS
from delivery.models import DeliveryDate
from payments.models import StripeOperation
from tests.baskets.test_recovery import new_card
from tests.baskets.test_renewal import (  # noqa: F401 — fixtures
    _stripe_settings,
    subscribed,
)
from tests.payments.conftest import (  # noqa: F401 — fixtures
    customer_with_card,
    intents_for_order,
    localstripe_url,
    stripe_api,
)

DECLINED_ON_CHARGE = "4000000000000341"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def cutoff_tick(delivery: date) -> datetime:
    """Five minutes after the cutoff (Sunday noon for a Tuesday): a beat tick."""
    return at(delivery - timedelta(days=2), 12, 5)


def beat_dispatch() -> int:
    """The beat's dispatch task at the current (travelled) time, its renewal tasks run here."""

    def run(subscription_id: int, delivery_date: date) -> None:
        subscription_renew_task(
            subscription_id=subscription_id, delivery_date=delivery_date.isoformat()
        )

    return renewals_dispatch(enqueue=run)


def beat_recover() -> dict:
    return renewals_recover(enqueue_retry=lambda pk: renewal_retry(renewal_id=pk))


def renewal_on(subscription, day: date) -> SubscriptionRenewal | None:
    return SubscriptionRenewal.objects.filter(subscription=subscription, delivery_date=day).first()


def kinds(subscription, day: date) -> list[str]:
    return list(
        SubscriptionMessage.objects.filter(subscription=subscription, delivery_date=day)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_months_of_one_subscription(subscribed, stripe_api, mailoutbox):  # noqa: F811
    tuesdays = [date(2026, 12, 8) + timedelta(weeks=n) for n in range(8)]
    w1, w2, w3, w4, w5, w6, w7, w8 = tuesdays
    subscription = subscribed(starts_on=w1)
    customer = subscription.stripe_customer_id

    # Week 1: the Sunday tick renews Tuesday's basket, charged off session.
    with time_machine.travel(cutoff_tick(w1), tick=False):
        assert beat_dispatch() == 1
    assert renewal_on(subscription, w1).status == RenewalStatus.PAID
    assert kinds(subscription, w1) == [MessageKind.RENEWED]

    # Week 2: skipped on the Friday before; the Sunday tick creates nothing.
    with time_machine.travel(at(w2 - timedelta(days=4), 9), tick=False):
        subscription_skip(subscription_id=subscription.pk, delivery_date=w2)
    with time_machine.travel(cutoff_tick(w2), tick=False):
        assert beat_dispatch() == 0
    assert renewal_on(subscription, w2) is None

    # Weeks 3 and 4: paused on the Monday until 4 January; the ticks create nothing.
    with time_machine.travel(at(w2 - timedelta(days=1), 18), tick=False):
        subscription_pause(subscription_id=subscription.pk, until=date(2027, 1, 4))
    for week in (w3, w4):
        with time_machine.travel(cutoff_tick(week), tick=False):
            assert beat_dispatch() == 0
        assert renewal_on(subscription, week) is None

    # Week 5: the pause is over, deliveries resume by themselves.
    with time_machine.travel(cutoff_tick(w5), tick=False):
        assert beat_dispatch() == 1
    assert renewal_on(subscription, w5).status == RenewalStatus.PAID

    # Week 6: the saved card is now declined (say it expired).
    declining = new_card(stripe_api, customer, DECLINED_ON_CHARGE)
    type(subscription).objects.filter(pk=subscription.pk).update(stripe_payment_method_id=declining)
    with time_machine.travel(cutoff_tick(w6), tick=False):
        beat_dispatch()
    renewal = renewal_on(subscription, w6)
    assert renewal.status == RenewalStatus.DECLINED
    assert DeliveryDate.objects.get(district=subscription.district, date=w6).booked == 1
    # the recovery tick at the first retry time tries the card again: declined again
    with time_machine.travel(renewal.next_retry_at + timedelta(minutes=1), tick=False):
        assert beat_recover()["retries"] == 1
    renewal.refresh_from_db()
    assert renewal.status == RenewalStatus.DECLINED
    assert renewal.attempts == 2
    # on Monday morning the shopper follows the email's link and pays with another card
    with time_machine.travel(at(w6 - timedelta(days=1), 10), tick=False):
        good = new_card(stripe_api, customer)
        renewal = renewal_pay_with_card(renewal_id=renewal.pk, payment_method_id=good)
    assert renewal.status == RenewalStatus.PAID
    assert kinds(subscription, w6) == [
        MessageKind.PAYMENT_DECLINED,
        MessageKind.PAYMENT_DECLINED,
        MessageKind.RENEWED,
    ]

    # Week 7: declined again and nobody acts: retried, then cancelled at the deadline.
    declining = new_card(stripe_api, customer, DECLINED_ON_CHARGE)
    type(subscription).objects.filter(pk=subscription.pk).update(stripe_payment_method_id=declining)
    with time_machine.travel(cutoff_tick(w7), tick=False):
        beat_dispatch()
    # recovery ticks every 10 minutes from the cutoff to past the deadline (Monday 18:00)
    tick = cutoff_tick(w7)
    while tick < at(w7 - timedelta(days=1), 18, 30):
        with time_machine.travel(tick, tick=False):
            beat_recover()
        tick += timedelta(minutes=10)
    renewal = renewal_on(subscription, w7)
    assert renewal.status == RenewalStatus.CANCELLED
    assert renewal.attempts == 3  # the first charge and two retries
    assert Order.objects.get(pk=renewal.order_id).status == "Annulée"
    assert DeliveryDate.objects.get(district=subscription.district, date=w7).booked == 0
    assert kinds(subscription, w7) == [
        MessageKind.PAYMENT_DECLINED,
        MessageKind.PAYMENT_DECLINED,
        MessageKind.PAYMENT_DECLINED,
        MessageKind.DELIVERY_CANCELLED,
    ]
    subscription.refresh_from_db()
    assert subscription.status != SubscriptionStatus.CANCELLED

    # Week 8: with a working card again, the subscription goes on as usual.
    type(subscription).objects.filter(pk=subscription.pk).update(stripe_payment_method_id=good)
    with time_machine.travel(cutoff_tick(w8), tick=False):
        assert beat_dispatch() == 1
    assert renewal_on(subscription, w8).status == RenewalStatus.PAID

    # Over the two months: 5 orders, 4 paid and captured once each, 1 cancelled unpaid.
    renewals = SubscriptionRenewal.objects.filter(subscription=subscription).order_by(
        "delivery_date"
    )
    assert [(r.delivery_date, r.status) for r in renewals] == [
        (w1, RenewalStatus.PAID),
        (w5, RenewalStatus.PAID),
        (w6, RenewalStatus.PAID),
        (w7, RenewalStatus.CANCELLED),
        (w8, RenewalStatus.PAID),
    ]
    for renewal in renewals:
        captures = StripeOperation.objects.filter(
            order_number=renewal.order.number, kind=StripeOperation.Kind.CAPTURE
        ).count()
        assert captures == (1 if renewal.status == RenewalStatus.PAID else 0)
    assert not RenewalOutbox.objects.filter(done_at__isnull=True).exists()
    # every email went out once (the ones above, and the skip and pause confirmations)
    assert len(mailoutbox) == SubscriptionMessage.objects.count()
    assert not SubscriptionMessage.objects.filter(sent_at__isnull=True).exists()
    assert all(m.to == [subscription.user.email] for m in mailoutbox)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_moving_to_a_thursday_district_after_a_cutoff(subscribed, stripe_api):  # noqa: F811
    from baskets.services.subscriptions import (
        subscription_address_change,
        subscription_address_preview,
    )
    from tests.baskets.subscription_factories import new_address, paris_5e_thursday

    tuesday = date(2026, 12, 8)
    subscription = subscribed(starts_on=tuesday)
    thursday_district = paris_5e_thursday()
    # Tuesday's order is fixed at Sunday's cutoff and placed by the tick
    with time_machine.travel(cutoff_tick(tuesday), tick=False):
        assert beat_dispatch() == 1
    # on Monday the shopper moves to Paris 5e, delivered on Thursdays: the preview says when
    with time_machine.travel(at(tuesday - timedelta(days=1), 9), tick=False):
        preview = subscription_address_preview(
            subscription_id=subscription.pk, address=new_address()
        )
        assert preview.district == thursday_district
        # one basket per week: the first Thursday after the week of the fixed Tuesday
        assert preview.first_delivery == date(2026, 12, 17)
        subscription_address_change(
            subscription_id=subscription.pk,
            address=new_address(),
            expected_district_id=thursday_district.pk,
            expected_first_delivery=preview.first_delivery,
        )
    # Tuesday's basket still goes to the old address
    fixed = renewal_on(subscription, tuesday)
    assert fixed.status == RenewalStatus.PAID
    assert fixed.order.shipping_address.postcode == "75013"
    # the following Sunday's tick has nothing for Tuesday the 15th any more
    with time_machine.travel(cutoff_tick(date(2026, 12, 15)), tick=False):
        assert beat_dispatch() == 0
    # Thursday the 17th closes on Tuesday the 15th at noon: its tick renews at the new address
    with time_machine.travel(at(date(2026, 12, 15), 12, 1), tick=False):
        assert beat_dispatch() == 1
    moved = renewal_on(subscription, date(2026, 12, 17))
    assert moved.status == RenewalStatus.PAID
    assert moved.order.shipping_address.postcode == "75005"
    assert moved.order.delivery.district == thursday_district
    assert SubscriptionRenewal.objects.filter(subscription=subscription).count() == 2
