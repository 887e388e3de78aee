"""When a weekly charge fails: retries, the shopper's payment page (another card, 3-D Secure),
the payment deadline; against PostgreSQL and a real localstripe. Real Stripe's off-session
402 ``authentication_required`` is produced by a small HTTP stand-in in front of localstripe."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.urls import reverse
from oscar.apps.order.models import Order

from baskets.models import RenewalStatus, SubscriptionRenewal, SubscriptionStatus
from baskets.services.recovery import (
    RenewalPaymentError,
    renewal_authentication_complete,
    renewal_expire,
    renewal_pay_with_card,
    renewal_retry,
    renewals_recover,
)
from baskets.services.renewal import (
    renewal_next_retry_at,
    renewal_payment_deadline,
    subscription_renew,
)
from delivery.calendar import PARIS
from delivery.models import DeliveryDate, OrderDelivery
from payments.models import StripeOperation
from tests.baskets.subscription_factories import (
    AFTER_CUTOFF,
    DELIVERY,
    NEXT_DELIVERY,
)
from tests.baskets.test_renewal import (  # noqa: F401 — fixtures
    _stripe_settings,
    ops,
    subscribed,
)
from tests.conftest import race
from tests.payments.conftest import (  # noqa: F401 — fixtures
    customer_with_card,
    intents_for_order,
    localstripe_url,
    stripe_api,
)

DECLINED_ON_CHARGE = "4000000000000341"
CARD_3DS = "4000002500003155"
DEADLINE = renewal_payment_deadline(delivery_date=DELIVERY)  # Monday 7 December, 18:00


def new_card(stripe_api, customer_id: str, number: str = "4242424242424242") -> str:  # noqa: F811
    """What Stripe.js leaves after confirmCardSetup: a card attached to the shopper's Customer."""
    pm = stripe_api.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    stripe_api.v1.payment_methods.attach(pm.id, params={"customer": customer_id})
    return pm.id


def authenticate(localstripe_url: str, renewal: SubscriptionRenewal, *, success: bool) -> None:  # noqa: F811
    """What the shopper's bank does when they answer 3-D Secure (Stripe.js, in the browser)."""
    op = StripeOperation.objects.get(stripe_id=renewal.payment_intent_id)
    response = requests.post(
        f"{localstripe_url}/v1/payment_intents/{renewal.payment_intent_id}/_authenticate",
        data={"client_secret": op.response["client_secret"], "success": str(success).lower()},
        auth=("sk_test_renewals", ""),
        timeout=5,
    )
    response.raise_for_status()


@pytest.fixture
def declined(subscribed, django_capture_on_commit_callbacks):
    """A renewal of the 8th whose card was declined at the cutoff."""
    subscription = subscribed(card=DECLINED_ON_CHARGE)
    with django_capture_on_commit_callbacks(execute=True):
        renewal = subscription_renew(
            subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
        )
    assert renewal.status == RenewalStatus.DECLINED
    return renewal


# --- the retry schedule ------------------------------------------------------------------------


def test_retries_follow_the_schedule_and_stop_before_the_deadline(settings):
    settings.SUBSCRIPTION_RETRY_HOURS = [8, 20]
    assert DEADLINE.astimezone(PARIS).isoformat() == "2026-12-07T18:00:00+01:00"
    first = renewal_next_retry_at(attempt=1, delivery_date=DELIVERY, now=AFTER_CUTOFF)
    assert first == AFTER_CUTOFF + timedelta(hours=8)
    second = renewal_next_retry_at(attempt=2, delivery_date=DELIVERY, now=first)
    assert second == first + timedelta(hours=20)
    assert second < DEADLINE
    # no third retry, and none that would land after the deadline
    assert renewal_next_retry_at(attempt=3, delivery_date=DELIVERY, now=second) is None
    late = DEADLINE - timedelta(hours=2)
    assert renewal_next_retry_at(attempt=1, delivery_date=DELIVERY, now=late) is None


@pytest.mark.django_db
def test_a_due_retry_charges_the_saved_card_again_with_a_new_attempt(declined, stripe_api):  # noqa: F811
    order = declined.order
    # when the retry is not due yet, nothing happens
    assert renewal_retry(renewal_id=declined.pk, now=declined.next_retry_at - timedelta(1)) is None
    # when it is due and the card is still declined
    again = renewal_retry(renewal_id=declined.pk, now=declined.next_retry_at)
    # then it is the 2nd attempt (its own ledger key), declined, and the last retry is planned
    assert again.status == RenewalStatus.DECLINED
    assert again.attempts == 2
    assert again.next_retry_at == declined.next_retry_at + timedelta(hours=20)
    keys = sorted(o.idempotency_key for o in ops(order.number, StripeOperation.Kind.PAYMENT_INTENT))
    assert keys == [f"order-{order.number}-authorise", f"order-{order.number}-authorise-2"]
    # and a duplicate retry task for the same moment does nothing
    assert renewal_retry(renewal_id=declined.pk, now=declined.next_retry_at) is None
    assert len(ops(order.number, StripeOperation.Kind.PAYMENT_INTENT)) == 2


@pytest.mark.django_db
def test_the_recovery_task_enqueues_due_retries_only(declined):
    enqueued: list[int] = []
    renewals_recover(enqueue_retry=enqueued.append, now=declined.next_retry_at - timedelta(1))
    assert enqueued == []
    renewals_recover(enqueue_retry=enqueued.append, now=declined.next_retry_at)
    assert enqueued == [declined.pk]


# --- paying with another card -------------------------------------------------------------------


@pytest.mark.django_db
def test_another_card_pays_the_order_and_becomes_the_subscriptions_card(
    declined,
    stripe_api,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    subscription = declined.subscription
    card = new_card(stripe_api, subscription.stripe_customer_id)
    with django_capture_on_commit_callbacks(execute=True):
        paid = renewal_pay_with_card(
            renewal_id=declined.pk, payment_method_id=card, now=AFTER_CUTOFF + timedelta(hours=1)
        )
    assert paid.status == RenewalStatus.PAID
    assert paid.next_retry_at is None
    subscription.refresh_from_db()
    assert subscription.stripe_payment_method_id == card
    order = declined.order
    assert [pi.status for pi in intents_for_order(stripe_api, order.number)].count("succeeded") == 1
    assert len(ops(order.number, StripeOperation.Kind.CAPTURE)) == 1
    # the "order paid" email, with the contents and the delivery date, in French
    assert [m.subject for m in mailoutbox][
        -1
    ] == "Votre panier du mardi 8 décembre est commandé et payé"
    assert "Débité sur votre carte" in mailoutbox[-1].body
    # the next renewal charges the new card, off session
    renewal = subscription_renew(
        subscription_id=subscription.pk,
        delivery_date=NEXT_DELIVERY,
        now=AFTER_CUTOFF + timedelta(days=7),
    )
    assert renewal.status == RenewalStatus.PAID
    request = ops(renewal.order.number, StripeOperation.Kind.PAYMENT_INTENT)[0].request
    assert request["payment_method"] == card


@pytest.mark.django_db
def test_another_customers_card_id_is_refused_and_changes_nothing(declined, stripe_api):  # noqa: F811
    # given a card saved on someone else's Stripe Customer, its id posted on this payment page
    other = stripe_api.v1.customers.create(params={"email": "autre@example.org"})
    foreign = new_card(stripe_api, other.id)
    # when it is offered to pay this shopper's declined delivery
    with pytest.raises(RenewalPaymentError, match="Cette carte n"):
        renewal_pay_with_card(
            renewal_id=declined.pk, payment_method_id=foreign, now=AFTER_CUTOFF + timedelta(hours=1)
        )
    # then the subscription keeps its card and the renewal is still waiting for payment
    declined.refresh_from_db()
    declined.subscription.refresh_from_db()
    assert declined.status == RenewalStatus.DECLINED
    assert declined.subscription.stripe_payment_method_id != foreign


@pytest.mark.django_db
def test_a_paid_renewal_cannot_be_paid_again(declined, stripe_api):  # noqa: F811
    card = new_card(stripe_api, declined.subscription.stripe_customer_id)
    renewal_pay_with_card(renewal_id=declined.pk, payment_method_id=card, now=AFTER_CUTOFF)
    with pytest.raises(RenewalPaymentError) as refused:
        renewal_pay_with_card(renewal_id=declined.pk, payment_method_id=card, now=AFTER_CUTOFF)
    assert refused.value.message == "Cette livraison est payée : merci !"
    assert len(ops(declined.order.number, StripeOperation.Kind.CAPTURE)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_racing_the_shoppers_new_card_charges_once(subscribed, stripe_api):  # noqa: F811
    subscription = subscribed(card=DECLINED_ON_CHARGE)
    declined = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    card = new_card(stripe_api, subscription.stripe_customer_id)
    now = declined.next_retry_at

    def act(which: str):
        if which == "retry":
            return renewal_retry(renewal_id=declined.pk, now=now)
        return renewal_pay_with_card(renewal_id=declined.pk, payment_method_id=card, now=now)

    # given both at once, each on its own connection
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(which: str) -> None:
        from django.db import connection

        barrier.wait()
        try:
            outcomes[which] = act(which)
        except RenewalPaymentError as exc:
            outcomes[which] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in ("retry", "card")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the order is paid once, whoever won
    renewal = SubscriptionRenewal.objects.get(pk=declined.pk)
    order = renewal.order
    assert renewal.status in (RenewalStatus.PAID, RenewalStatus.DECLINED)
    # one of them ran, the other found the renewal claimed (or paid) and did nothing
    assert any(isinstance(o, SubscriptionRenewal) for o in outcomes.values())
    captures = ops(order.number, StripeOperation.Kind.CAPTURE)
    succeeded = [
        pi for pi in intents_for_order(stripe_api, order.number) if pi.status == "succeeded"
    ]
    assert len(captures) <= 1
    assert len(succeeded) <= 1
    assert len(succeeded) == (1 if renewal.status == RenewalStatus.PAID else 0)


# --- 3-D Secure ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_3d_secure_then_authentication_captures_the_order(
    subscribed,
    stripe_api,  # noqa: F811
    localstripe_url,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    subscription = subscribed(card=CARD_3DS)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = subscription_renew(
            subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
        )
    # localstripe answers the off-session charge 200 with status requires_action
    assert waiting.status == RenewalStatus.REQUIRES_ACTION
    assert (
        mailoutbox[-1].subject
        == "Merci de confirmer le paiement de votre panier du mardi 8 décembre"
    )
    assert f"/paniers/compte/abonnements/paiements/{waiting.pk}/" in mailoutbox[-1].body
    # when the shopper has not authenticated yet, completing changes nothing
    assert (
        renewal_authentication_complete(renewal_id=waiting.pk, now=AFTER_CUTOFF).status
        == RenewalStatus.REQUIRES_ACTION
    )
    assert len(mailoutbox) == 1  # not emailed twice for the same attempt
    # when they pass 3-D Secure
    authenticate(localstripe_url, waiting, success=True)
    paid = renewal_authentication_complete(renewal_id=waiting.pk, now=AFTER_CUTOFF)
    # then the order is captured, once
    assert paid.status == RenewalStatus.PAID
    order = waiting.order
    assert [pi.status for pi in intents_for_order(stripe_api, order.number)] == ["succeeded"]
    assert len(ops(order.number, StripeOperation.Kind.CAPTURE)) == 1


class _RealStripe402(BaseHTTPRequestHandler):
    """Forwards to localstripe, but answers an off-session PaymentIntent that needs 3-D Secure
    the way real Stripe does: HTTP 402, card_error ``authentication_required``, the intent in
    ``error.payment_intent``."""

    upstream = ""

    def log_message(self, *args):  # quiet
        pass

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        response = requests.request(
            method, self.upstream + self.path, data=body, headers=headers, timeout=10
        )
        status, payload = response.status_code, response.content
        if (
            method == "POST"
            and self.path.rstrip("/") == "/v1/payment_intents"
            and b"off_session=true" in (body or b"").lower()
            and response.ok
            and response.json().get("status") == "requires_action"
        ):
            status = 402
            payload = json.dumps(
                {
                    "error": {
                        "code": "authentication_required",
                        "type": "card_error",
                        "message": "This payment requires authentication.",
                        "payment_intent": response.json(),
                    }
                }
            ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self._forward("GET")

    def do_POST(self):
        self._forward("POST")


@pytest.fixture
def real_stripe_402(localstripe_url, settings):  # noqa: F811
    handler = type("Handler", (_RealStripe402,), {"upstream": localstripe_url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_port}"
    yield
    server.shutdown()
    settings.STRIPE_API_BASE = localstripe_url


@pytest.mark.django_db
def test_real_stripes_402_authentication_required_is_handled_like_requires_action(
    subscribed,
    real_stripe_402,
    localstripe_url,  # noqa: F811
    stripe_api,  # noqa: F811
):
    subscription = subscribed(card=CARD_3DS)
    waiting = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    # then it waits for the shopper rather than counting as a decline
    assert waiting.status == RenewalStatus.REQUIRES_ACTION
    assert waiting.payment_intent_id.startswith("pi_")
    authenticate(localstripe_url, waiting, success=True)
    assert (
        renewal_authentication_complete(renewal_id=waiting.pk, now=AFTER_CUTOFF).status
        == RenewalStatus.PAID
    )


# --- the payment deadline ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("card", [DECLINED_ON_CHARGE, CARD_3DS])
def test_unpaid_at_the_deadline_the_delivery_is_cancelled_and_the_subscription_goes_on(
    card,
    subscribed,
    stripe_api,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    subscription = subscribed(card=card)
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    assert renewal.status in (RenewalStatus.DECLINED, RenewalStatus.REQUIRES_ACTION)
    assert DeliveryDate.objects.get(date=DELIVERY).booked == 1
    # a minute before the deadline nothing is cancelled
    renewals_recover(enqueue_retry=lambda pk: None, now=DEADLINE - timedelta(minutes=1))
    renewal.refresh_from_db()
    assert renewal.status != RenewalStatus.CANCELLED
    # at the deadline, the recovery task cancels the delivery
    with django_capture_on_commit_callbacks(execute=True):
        counts = renewals_recover(enqueue_retry=lambda pk: None, now=DEADLINE)
    assert counts["expired"] == 1
    renewal.refresh_from_db()
    assert renewal.status == RenewalStatus.CANCELLED
    order = Order.objects.get(pk=renewal.order_id)
    assert order.status == "Annulée"
    assert OrderDelivery.objects.get(order=order).status == OrderDelivery.Status.RELEASED
    assert DeliveryDate.objects.get(date=DELIVERY).booked == 0
    # nothing was captured, and a 3-D Secure intent left open is cancelled
    assert not ops(order.number, StripeOperation.Kind.CAPTURE)
    assert all(
        pi.status in ("canceled", "requires_payment_method")
        for pi in intents_for_order(stripe_api, order.number)
    )
    # the shopper is told; the subscription stays active
    assert mailoutbox[-1].subject == "Votre livraison du mardi 8 décembre est annulée"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    # and it is too late to pay for it now
    card_id = new_card(stripe_api, subscription.stripe_customer_id)
    with pytest.raises(RenewalPaymentError):
        renewal_pay_with_card(renewal_id=renewal.pk, payment_method_id=card_id, now=DEADLINE)
    # expiring again changes nothing and emails nobody
    count = len(mailoutbox)
    assert renewal_expire(renewal_id=renewal.pk, now=DEADLINE).status == RenewalStatus.CANCELLED
    assert len(mailoutbox) == count


@pytest.mark.django_db(transaction=True)
def test_the_deadline_racing_a_3d_secure_return_never_charges_a_cancelled_delivery(
    subscribed,
    stripe_api,  # noqa: F811
    localstripe_url,  # noqa: F811
):
    subscription = subscribed(card=CARD_3DS)
    waiting = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    authenticate(localstripe_url, waiting, success=True)
    moment = DEADLINE - timedelta(seconds=1)

    def act(i: int):
        if i == 0:
            return renewal_expire(renewal_id=waiting.pk, now=DEADLINE)
        try:
            return renewal_authentication_complete(renewal_id=waiting.pk, now=moment)
        except RenewalPaymentError as exc:
            return exc

    counter = iter(range(2))
    lock = threading.Lock()

    def one():
        with lock:
            i = next(counter)
        return act(i)

    race(2, one)
    renewal = SubscriptionRenewal.objects.get(pk=waiting.pk)
    order = renewal.order
    captured = [
        pi for pi in intents_for_order(stripe_api, order.number) if pi.status == "succeeded"
    ]
    if renewal.status == RenewalStatus.PAID:
        # the shopper was first: delivered and charged once
        assert len(captured) == 1
        assert OrderDelivery.objects.get(order=order).status == OrderDelivery.Status.BOOKED
    else:
        # the deadline was first: cancelled, and nothing captured
        assert renewal.status == RenewalStatus.CANCELLED
        assert captured == []
        assert OrderDelivery.objects.get(order=order).status == OrderDelivery.Status.RELEASED


# --- the payment page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_payment_page_takes_another_card(client, declined, stripe_api, settings):  # noqa: F811
    subscription = declined.subscription
    client.force_login(subscription.user)
    url = reverse("baskets:renewal-payment", kwargs={"pk": declined.pk})
    assert url == f"/paniers/compte/abonnements/paiements/{declined.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Votre carte a été refusée" in html
    assert 'data-setup-secret="seti_' in html
    card = new_card(stripe_api, subscription.stripe_customer_id)
    # pretend the page is seen before the deadline (the test clock is the real one)
    response = client.post(url, {"payment_method_id": card}, follow=True)
    assert response.status_code == 200
    declined.refresh_from_db()
    assert declined.status == RenewalStatus.PAID
    assert "Merci : cette livraison est payée." in response.content.decode()


@pytest.mark.django_db
def test_the_payment_page_runs_3d_secure_then_captures(
    client,
    subscribed,
    stripe_api,  # noqa: F811
    localstripe_url,  # noqa: F811
):
    subscription = subscribed(card=CARD_3DS)
    waiting = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    client.force_login(subscription.user)
    url = reverse("baskets:renewal-payment", kwargs={"pk": waiting.pk})
    html = client.get(url).content.decode()
    # the page hands the intent's secret to Stripe.js, which asks the bank
    assert 'data-authentication-secret="pi_' in html
    authenticate(localstripe_url, waiting, success=True)
    # and Stripe.js posts the form back (no new card)
    response = client.post(url, {"payment_method_id": ""}, follow=True)
    waiting.refresh_from_db()
    assert waiting.status == RenewalStatus.PAID
    assert "Cette livraison est payée : merci !" in response.content.decode()


@pytest.mark.django_db
def test_another_shoppers_payment_page_is_404(client, declined, django_user_model):
    intruder = django_user_model.objects.create_user(
        username="intrus", email="intrus@example.fr", password="x"
    )
    client.force_login(intruder)
    url = reverse("baskets:renewal-payment", kwargs={"pk": declined.pk})
    assert client.get(url).status_code == 404
    assert client.post(url, {"payment_method_id": "pm_x"}).status_code == 404
    assert client.get(reverse("baskets:renewal-payment", kwargs={"pk": 999999})).status_code == 404
    declined.refresh_from_db()
    assert declined.status == RenewalStatus.DECLINED


@pytest.mark.django_db
def test_the_payment_page_needs_a_login(client, declined):
    url = reverse("baskets:renewal-payment", kwargs={"pk": declined.pk})
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.django_db
def test_a_3d_secure_passed_without_coming_back_is_captured_by_the_recovery_task(
    subscribed,
    stripe_api,  # noqa: F811
    localstripe_url,  # noqa: F811
):
    from django.utils import timezone

    subscription = subscribed(card=CARD_3DS)
    waiting = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    # given the shopper passed 3-D Secure, then closed the tab before the page posted back
    authenticate(localstripe_url, waiting, success=True)
    # when the recovery task runs (more than 5 minutes after the renewal last moved)
    later = timezone.now() + timedelta(minutes=6)
    counts = renewals_recover(enqueue_retry=lambda pk: None, now=min(later, DEADLINE))
    # then the payment is captured, once
    assert counts["completed"] == 1
    waiting.refresh_from_db()
    assert waiting.status == RenewalStatus.PAID
    assert len(ops(waiting.order.number, StripeOperation.Kind.CAPTURE)) == 1
