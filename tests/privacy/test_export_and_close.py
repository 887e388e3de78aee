"""A shopper downloads everything we hold about them, and closes their account: personal data
erased, orders kept for the accounts, card removed at Stripe, sessions ended."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oscar.apps.address.models import UserAddress
from oscar.apps.order.models import Order
from oscar.test.factories import (
    ShippingAddressFactory,
    UserAddressFactory,
    UserFactory,
    create_order,
)

from baskets.models import BasketSubscription, SubscriptionStatus
from delivery.calendar import local_today
from delivery.models import WaitlistEntry
from delivery.routing.models import RouteStop
from payments.models import StripeCustomer
from privacy.models import Consent, ConsentPurpose, ConsentSource
from privacy.services import AccountClosureError, account_close, consent_give
from supply.models import SupplyWaitlistEntry
from tests.baskets.subscription_factories import AFTER_CUTOFF, BEFORE_CUTOFF, subscription_create
from tests.delivery.factories import order_delivery, paris_13e
from tests.privacy.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_on_localstripe(settings, localstripe_url):
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_privacy"


@pytest.fixture
def shopper_with_everything(stripe_on_localstripe):
    """Léa: an address, an order (with lines), a weekly subscription, a saved card at Stripe,
    a consent, a place on both waiting lists."""
    from oscar.test.factories import CountryFactory

    from payments.services.customers import stripe_customer_ensure
    from payments.stripe_client import stripe_client

    subscription = subscription_create()
    user = subscription.user
    user.email, user.first_name, user.last_name = "lea@example.fr", "Léa", "Martin"
    user.set_password(PASSWORD)
    user.save()
    france = CountryFactory(iso_3166_1_a2="FR")
    UserAddressFactory(
        user=user,
        line1="12 rue de Tolbiac",
        postcode="75013",
        country=france,
        phone_number="+33612345678",
    )
    create_order(
        user=user,
        shipping_address=ShippingAddressFactory(
            first_name="Léa",
            line1="12 rue de Tolbiac",
            postcode="75013",
            line4="Paris",
            country=france,
        ),
    )
    consent_give(
        user_id=user.pk,
        purpose=ConsentPurpose.MARKETING_EMAIL,
        wording="Envoyez-moi…",
        language="fr",
        source=ConsentSource.ACCOUNT,
    )
    WaitlistEntry.objects.create(
        email="LEA@example.fr",
        postcode="94300",
        consent_text="Prévenez-moi",
        consented_at=timezone.now(),
    )
    SupplyWaitlistEntry.objects.create(
        variant=subscription.variant, email="lea@example.fr", user=user
    )
    customer_id = stripe_customer_ensure(user=user, email=user.email)
    card = stripe_client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    stripe_client().v1.payment_methods.attach(card.id, params={"customer": customer_id})
    BasketSubscription.objects.filter(pk=subscription.pk).update(
        stripe_customer_id=customer_id, stripe_payment_method_id=card.id
    )
    return user


# --- Download ---------------------------------------------------------------------------------


def test_the_shopper_downloads_their_data_as_json(client, shopper_with_everything):
    user = shopper_with_everything
    other = UserFactory(email="autre@example.fr")
    create_order(user=other)
    client.force_login(user)
    response = client.get(reverse("privacy:export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["email"] == "lea@example.fr"
    assert data["account"]["first_name"] == "Léa"
    assert [a["line1"] for a in data["address_book"]] == ["12 rue de Tolbiac"]
    (order,) = data["orders"]
    assert order["number"] == Order.objects.get(user=user).number
    assert order["lines"]
    assert order["lines"][0]["quantity"] >= 1
    assert Decimal(order["total_incl_tax"]) > 0
    assert order["shipping_address"]["line1"] == "12 rue de Tolbiac"
    (subscription,) = data["subscriptions"]
    assert subscription["status"] == "active"
    assert subscription["delivery_address"]["line1"] == "12 rue de Tolbiac"
    assert [c["purpose"] for c in data["consents"]] == ["marketing_email"]
    assert data["consents"][0]["wording"] == "Envoyez-moi…"
    assert [w["postcode"] for w in data["delivery_waitlist"]] == ["94300"]
    assert len(data["basket_waitlist"]) == 1
    assert data["payments"]["stripe_customers"][0]["id"].startswith("cus_")
    # nobody else's data
    assert "autre@example.fr" not in response.content.decode()


def test_the_download_needs_to_be_signed_in(client):
    assert client.get(reverse("privacy:export")).status_code == 302


# --- Closing ----------------------------------------------------------------------------------


def customer_is_deleted(customer_id: str) -> bool:
    """Real Stripe answers a deleted Customer with ``deleted: true``, localstripe with 404."""
    import stripe

    from payments.stripe_client import stripe_client

    try:
        return stripe_client().v1.customers.retrieve(customer_id).to_dict().get("deleted") is True
    except stripe.InvalidRequestError as exc:
        return exc.http_status == 404


def close(client, password: str = PASSWORD, confirm: bool = True):
    data = {"password": password}
    if confirm:
        data["confirm"] = "on"
    return client.post(reverse("privacy:close"), data)


# Transactional: each step commits as in production, so the cancellation email really goes out
# on its commit, before the address is erased.
@pytest.mark.django_db(transaction=True)
def test_closing_the_account_erases_the_person_and_keeps_the_orders(
    client, shopper_with_everything
):
    user = shopper_with_everything
    assert not customer_is_deleted(StripeCustomer.objects.get(user=user).customer_id)
    order = Order.objects.get(user=user)
    total, lines = order.total_incl_tax, list(order.lines.values_list("title", "quantity"))
    customer_id = StripeCustomer.objects.get(user=user).customer_id
    client.force_login(user)
    other_device = Client()
    other_device.force_login(user)
    # when Léa closes her account (before the week's cutoff: nothing left to deliver)
    with time_machine.travel(BEFORE_CUTOFF, tick=False):
        response = close(client)
    assert response.status_code == 302
    # then her account names no one and cannot sign in
    user.refresh_from_db()
    assert (user.email, user.first_name, user.last_name) == ("", "", "")
    assert "lea" not in user.username
    assert (user.is_active, user.has_usable_password()) == (False, False)
    assert not get_user_model().objects.filter(email__iexact="lea@example.fr").exists()
    # her sessions are over, here and on her other device
    assert "_auth_user_id" not in client.session
    assert other_device.get("/accounts/").status_code == 302
    # her address book, waiting lists and saved card are gone (the Customer deleted at Stripe)
    assert not UserAddress.objects.filter(user=user).exists()
    assert not WaitlistEntry.objects.exists()
    assert not SupplyWaitlistEntry.objects.exists()
    assert not StripeCustomer.objects.exists()
    assert customer_is_deleted(customer_id)
    # her subscription is cancelled (with its usual email, sent before the address went) and
    # its address erased
    subscription = BasketSubscription.objects.get(user=user)
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert (subscription.first_name, subscription.line1, subscription.stripe_payment_method_id) == (
        "",
        "",
        "",
    )
    assert [m.to for m in mail.outbox] == [["lea@example.fr"]]
    # her consent is withdrawn, the record of it kept
    consent = Consent.objects.get(user=user)
    assert consent.withdrawn_at is not None
    assert consent.withdrawn_source == ConsentSource.CLOSURE
    # and the order stays for the accounts: number, total, lines, without her name or street
    order.refresh_from_db()
    assert order.user_id == user.pk
    assert order.total_incl_tax == total
    assert list(order.lines.values_list("title", "quantity")) == lines
    address = order.shipping_address
    assert (address.first_name, address.line1, str(address.phone_number or "")) == ("", "", "")
    assert (address.postcode, address.line4) == ("75013", "Paris")


def test_a_coming_delivery_keeps_the_account_open_until_it_is_delivered(client, lea):
    district = paris_13e()
    delivery = order_delivery(district, day=local_today() + timedelta(days=3))
    Order.objects.filter(pk=delivery.order_id).update(user=lea)
    client.force_login(lea)
    page = client.get(reverse("privacy:my-data")).content.decode()
    assert f"Votre commande {delivery.order.number} doit encore être livrée" in page
    response = close(client)
    assert response.status_code == 302
    lea.refresh_from_db()
    assert (lea.is_active, lea.email) == (True, "lea@example.fr")


def test_a_weekly_delivery_fixed_by_its_cutoff_blocks_the_closure_even_once_cancelled(
    stripe_on_localstripe,
):
    from baskets.services.subscriptions import subscription_cancel

    subscription = subscription_create()
    with time_machine.travel(AFTER_CUTOFF, tick=False):
        with pytest.raises(AccountClosureError) as refused:
            account_close(user_id=subscription.user_id)
        assert "déjà arrêtée" in refused.value.messages[0]
        # cancelling now still leaves that delivery to come
        subscription_cancel(subscription_id=subscription.pk)
        with pytest.raises(AccountClosureError):
            account_close(user_id=subscription.user_id)
    # after it, the account closes
    with time_machine.travel(AFTER_CUTOFF + timedelta(days=3), tick=False):
        account_close(user_id=subscription.user_id)
    assert not get_user_model().objects.get(pk=subscription.user_id).is_active


def test_a_wrong_password_closes_nothing(client, lea):
    client.force_login(lea)
    response = close(client, password="pas-le-bon")
    assert response.status_code == 400
    assert "Ce n’est pas votre mot de passe." in response.content.decode()
    lea.refresh_from_db()
    assert (lea.is_active, lea.email) == (True, "lea@example.fr")


def test_the_box_must_be_ticked(client, lea):
    client.force_login(lea)
    assert close(client, confirm=False).status_code == 400
    lea.refresh_from_db()
    assert lea.is_active


def test_a_staff_account_is_not_closed_from_the_shop(client):
    staff = UserFactory(email="equipe@example.fr", is_staff=True, password=PASSWORD)
    client.force_login(staff)
    close(client)
    staff.refresh_from_db()
    assert (staff.is_active, staff.is_staff) == (True, True)


# --- Closing: delivery records ----------------------------------------------------------------

PAST_TUESDAY = date(2025, 3, 4)


def _key(line: str) -> str:
    from delivery.routing.geocoding import address_key

    return address_key(line=line, postcode="75013")


@pytest.fixture
def delivered_routes(lea):
    """A Tuesday delivered last year: Léa alone at 12 rue de Tolbiac, Léa and a guest at
    40 rue Bobillot, Max (another account) at 3 rue Küss; ops moved Léa's stop once. The
    geocoding cache holds those buildings and the two of Léa's address book, one of which Max
    also keeps in his (spelt differently)."""
    from delivery.routing.models import AddressLocation, RouteStopMove
    from delivery.routing.services.planning import route_plan
    from tests.delivery.routing_factories import BusFactory, DepotFactory, order_at

    district = paris_13e()
    DepotFactory()
    bus = BusFactory()
    max_ = UserFactory(email="max@example.fr")
    for line, user in [
        ("12 rue de Tolbiac", lea),
        ("40 rue Bobillot", lea),
        ("40 rue Bobillot", None),
        ("3 rue Küss", max_),
    ]:
        delivery = order_at(district, day=PAST_TUESDAY, line1=line, email="invite@example.fr")
        if user is not None:
            Order.objects.filter(pk=delivery.order_id).update(user=user, guest_email="")
    UserAddressFactory(user=lea, line1="5 avenue d'Italie", postcode="75013")
    UserAddressFactory(user=lea, line1="8 bd Blanqui", postcode="75013")
    UserAddressFactory(user=max_, line1="8, Boulevard Blanqui", postcode="75013")
    plan = route_plan(delivery_date=PAST_TUESDAY, seconds=0.2).plan
    lines = ("12 rue de Tolbiac", "40 rue Bobillot", "3 rue Küss")
    by_key = {stop.address_key: stop for stop in RouteStop.objects.filter(route__plan=plan)}
    stops = {line: by_key[_key(line)] for line in lines}
    assert len(by_key) == len(stops)
    RouteStopMove.objects.create(
        plan=plan, address=stops["12 rue de Tolbiac"].address, from_bus=bus, to_bus=bus, baskets=1
    )
    for line in (*lines, "5 avenue d'Italie"):
        AddressLocation.objects.create(
            key=_key(line), label=line, latitude="48.83", longitude="2.36", source="ban"
        )
    AddressLocation.objects.create(
        key=_key("8 boulevard Blanqui"), label="8 bd", latitude=48.8, longitude=2.3, source="ban"
    )
    return plan, stops


def test_closing_erases_the_street_of_stops_only_the_shopper_was_delivered_at(
    lea, delivered_routes
):
    from delivery.routing.manifests import manifest_build
    from delivery.routing.models import RouteStopMove

    plan, stops = delivered_routes
    alone = stops["12 rue de Tolbiac"]
    before = {stop.pk: stop.orders.count() for stop in stops.values()}
    # when Léa closes her account
    account_close(user_id=lea.pk)
    # then the stop that served only her keeps its postcode and city, not her street, and
    # points at her neighbourhood (about a kilometre), not at her door
    stop = RouteStop.objects.get(pk=alone.pk)
    assert (stop.address, stop.address_key) == ("", "")
    assert (stop.postcode, stop.city) == ("75013", alone.city)
    assert stop.latitude == alone.latitude.quantize(Decimal("0.01"))
    assert stop.longitude == alone.longitude.quantize(Decimal("0.01"))
    assert list(RouteStopMove.objects.values_list("address", flat=True)) == [""]
    # the building she shared with a guest, and Max's, are as they were
    for line in ("40 rue Bobillot", "3 rue Küss"):
        kept = RouteStop.objects.get(pk=stops[line].pk)
        assert kept.address.startswith(line)
        assert kept.address_key == _key(line)
        assert (kept.latitude, kept.longitude) == (stops[line].latitude, stops[line].longitude)
    # every order is still on its stop, for the delivery's record
    assert {stop.pk: stop.orders.count() for stop in stops.values()} == before
    # and the route sheet of that day names neither her nor her street
    sheet = "\n".join(
        " ".join(map(str, row)) for row in manifest_build(plan=plan, kind="route_sheet").rows
    )
    assert "Tolbiac" not in sheet
    assert sheet.count("Camille") == 2  # the guest and Max; Léa's two orders name nobody
    assert "40 rue Bobillot" in sheet
    assert "3 rue Küss" in sheet


def test_closing_forgets_the_geocoded_addresses_nobody_else_uses(lea, delivered_routes):
    from delivery.routing.models import AddressLocation

    account_close(user_id=lea.pk)
    # her building and her address book's other address are forgotten; the building she
    # shared with a guest, the one Max keeps in his address book too, and Max's stay
    assert set(AddressLocation.objects.values_list("label", flat=True)) == {
        "40 rue Bobillot",
        "3 rue Küss",
        "8 bd",
    }


def test_a_shopper_with_no_route_or_cached_address_closes_as_before(lea):
    from delivery.routing.models import AddressLocation

    AddressLocation.objects.create(
        key=_key("1 place d'Italie"), label="1", latitude=48.8, longitude=2.3, source="ban"
    )
    account_close(user_id=lea.pk)
    assert AddressLocation.objects.count() == 1
    assert not RouteStop.objects.exists()


def test_closing_removes_the_shopper_from_the_waiting_room_priority_lane(lea):
    from waitingroom.models import PriorityShopper

    # given customer care put Léa, and someone else, on the priority lane
    PriorityShopper.objects.create(user=lea, note="Demande de sa fille")
    other = PriorityShopper.objects.create(user=UserFactory(), note="Assistante sociale")
    # when Léa closes her account
    account_close(user_id=lea.pk)
    # then her entry is gone and the other one stays
    assert list(PriorityShopper.objects.all()) == [other]
