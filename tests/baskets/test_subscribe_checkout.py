"""Subscribing at checkout: a basket chosen « Chaque semaine » starts a BasketSubscription with
its first order, paid on session with the card saved on localstripe; the card then pays the
first renewal off-session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from oscar.apps.basket.models import Basket as Cart
from oscar.apps.basket.models import Line as CartLine
from oscar.apps.order.models import Order
from oscar.test.factories import CountryFactory, UserFactory

from baskets.models import (
    BasketSubscription,
    MessageKind,
    RenewalStatus,
    SubscriptionMessage,
    SubscriptionStatus,
)
from baskets.services.catalogue import basket_product_class
from baskets.services.renewal import subscription_renew
from baskets.services.subscribe import (
    FREQUENCY_OPTION_CODE,
    subscription_option,
    subscriptions_create_from_order,
)
from delivery.calendar import delivery_cutoff, delivery_dates_upcoming
from delivery.models import OrderDelivery
from payments.models import StripeOperation
from tests.baskets.conftest import make_grocery, make_variant
from tests.delivery.factories import paris_13e
from tests.delivery.test_checkout import address

pytestmark = pytest.mark.django_db

PAYS = "4242424242424242"
DECLINED = "4000000000000341"  # can be saved, declined when charged
PASSWORD = "un-mot-de-passe-solide"


@pytest.fixture
def france():
    return CountryFactory(
        iso_3166_1_a2="FR", printable_name="France", name="France", is_shipping_country=True
    )


@pytest.fixture
def district(france):
    return paris_13e()


@pytest.fixture
def shopper(client):
    user = UserFactory(email="lea@example.fr", first_name="Léa", password=PASSWORD)
    client.force_login(user)
    return user


@pytest.fixture
def saved_card(stripe_card):
    """``saved_card(user, number)``: a card saved on the shopper's own Stripe Customer, as the
    browser's confirmCardSetup leaves it; returns the payment method id to post."""

    def make(user, number: str = PAYS) -> str:
        from payments.services.customers import stripe_customer_ensure
        from payments.stripe_client import stripe_client

        customer_id = stripe_customer_ensure(user=user, email=user.email)
        method = stripe_client().v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
            }
        )
        stripe_client().v1.payment_methods.attach(method.id, params={"customer": customer_id})
        return method.id

    return make


def a_basket(price: str = "60.00", persons: int = 2):
    return make_variant(components={make_grocery(): 2}, price=price, persons=persons)


def add_to_cart(client, variant, *, frequency: str | None = "weekly", quantity: int = 1):
    data = {"quantity": quantity}
    if frequency is not None:
        data["frequency"] = frequency
    response = client.post(reverse("basket:add", kwargs={"pk": variant.product_id}), data)
    assert response.status_code == 302


def to_preview(client) -> None:
    assert client.get(reverse("checkout:index")).status_code == 302
    response = client.post(reverse("checkout:shipping-address"), address("75013", "Paris"))
    assert response.status_code == 302
    client.get(reverse("checkout:shipping-method"))
    response = client.get(reverse("checkout:preview"))
    assert response.status_code == 200, response.get("Location")


def pay(client, payment_method_id: str, capture):
    with capture(execute=True):
        return client.post(
            reverse("checkout:preview"),
            {"action": "place_order", "payment_method_id": payment_method_id},
        )


def confirmation_emails():
    return [m for m in mail.outbox if "Votre abonnement hebdomadaire" in m.subject]


# --- the choice --------------------------------------------------------------------------------


def test_the_frequency_option_is_on_every_basket_and_created_once(district):
    # given the basket product class asked for twice (as every basket save does)
    basket_product_class()
    product_class = basket_product_class()
    # then it carries one frequency option, a radio of weekly / once, not required
    [option] = product_class.options.all()
    assert option.code == FREQUENCY_OPTION_CODE
    assert (option.type, option.required) == ("radio", False)
    assert {value for value, _label in option.get_choices() if value} == {"weekly", "once"}
    assert subscription_option() == option


def test_the_basket_page_offers_every_week_by_default_with_the_district_day(client, district):
    variant = a_basket()
    # given the shopper checked their postcode (Paris 13e, delivered on Tuesdays)
    client.get(reverse("delivery:check"), {"postcode": "75013"})
    # when they open the basket's page
    product = variant.themed_basket.product
    url = reverse("baskets:detail", kwargs={"slug": product.slug, "pk": product.pk})
    html = client.get(url).content.decode()
    # then « Chaque semaine » is checked, « Une seule fois » offered, and Tuesday is named
    assert 'name="frequency" id="basket-frequency-weekly" value="weekly" checked' in html
    assert 'value="once"' in html
    assert "Chaque semaine" in html
    assert "Une seule fois" in html
    assert "livré chaque mardi dans Paris 13e" in html


def test_weekly_and_single_lines_of_one_basket_are_two_cart_lines_shown_apart(client, district):
    variant = a_basket()
    # when the same basket goes in the cart once weekly and once for a single delivery
    add_to_cart(client, variant, frequency="weekly")
    add_to_cart(client, variant, frequency="once")
    # then they are two lines, and the cart page says which is which
    assert CartLine.objects.count() == 2
    html = client.get(reverse("basket:summary")).content.decode()
    assert "line-frequency-weekly" in html
    assert "line-frequency-once" in html
    assert "Fréquence = " not in html


# --- subscribing -------------------------------------------------------------------------------


def test_a_weekly_basket_paid_at_checkout_starts_a_subscription(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    variant = a_basket(price="60.00")
    first, second = delivery_dates_upcoming(district=district, count=2)
    # given a signed-in shopper with the basket « Chaque semaine » × 2 in the cart
    add_to_cart(client, variant, quantity=2)
    to_preview(client)
    preview = client.get(reverse("checkout:preview")).content.decode()
    assert "Ce panier démarre un abonnement hebdomadaire" in preview
    card = saved_card(shopper)
    # when they pay with a card that works
    response = pay(client, card, django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.content.decode()[:2000]
    # then the order is placed, delivered on the next Tuesday...
    order = Order.objects.get()
    assert OrderDelivery.objects.get(order=order).delivery_date == first
    # ...and one subscription copies the basket, the address, the district and the card
    subscription = BasketSubscription.objects.get()
    customer_id = StripeOperation.objects.get(kind="customer").stripe_id
    assert subscription.user == shopper
    assert subscription.variant == variant
    assert subscription.quantity == 2
    assert (subscription.line1, subscription.line4, subscription.postcode) == (
        "12 rue de Tolbiac",
        "Paris",
        "75013",
    )
    assert (subscription.first_name, subscription.last_name) == ("Camille", "Martin")
    assert subscription.district == district
    assert subscription.first_order == order
    assert subscription.starts_on == second  # the order itself delivers the first Tuesday
    assert subscription.stripe_customer_id == customer_id
    assert subscription.stripe_payment_method_id == card
    assert subscription.status == SubscriptionStatus.ACTIVE
    # and the order line remembers the choice (Oscar copies the cart line's option)
    assert order.lines.get().attributes.get().value == "weekly"
    # and the thank-you page says so, with a link to « Mes abonnements »
    thanks = client.get(response["Location"]).content.decode()
    assert "Votre abonnement hebdomadaire a démarré." in thanks
    assert reverse("baskets:subscriptions") in thanks
    # and the account lists it
    listing = client.get(reverse("baskets:subscriptions")).content.decode()
    assert reverse("baskets:subscription-detail", kwargs={"pk": subscription.pk}) in listing
    # and the order's page in the account shows « Chaque semaine », not Oscar's raw option
    detail = client.get(
        reverse("customer:order", kwargs={"order_number": order.number})
    ).content.decode()
    assert "Chaque semaine" in detail
    assert "Fréquence = " not in detail


def test_the_confirmation_email_is_sent_once_in_french(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    variant = a_basket(price="60.00", persons=2)
    first, second = delivery_dates_upcoming(district=district, count=2)
    add_to_cart(client, variant)
    to_preview(client)
    pay(client, saved_card(shopper), django_capture_on_commit_callbacks)
    subscription = BasketSubscription.objects.get()
    # then one « abonnement confirmé » email went to the shopper, in French
    [email] = confirmation_emails()
    assert email.to == ["lea@example.fr"]
    title = variant.themed_basket.product.title
    assert email.subject == f"Votre abonnement hebdomadaire à « {title} » est confirmé"
    body = email.body
    assert "Bonjour Léa," in body
    assert f"Votre abonnement hebdomadaire à « {title} » pour 2 personnes est confirmé." in body
    # 60 € of basket + the district's 4.90 € delivery
    assert "Livré chaque mardi dans Paris 13e, pour 64,90\xa0€ par semaine" in body
    assert "(60,00\xa0€ pour les paniers et 4,90\xa0€ pour la livraison)" in body
    assert f"Première livraison : mardi {first.day} " in body
    assert f"Livraison suivante : mardi {second.day} " in body
    assert "le dimanche précédant sa livraison à 12:00" in body
    assert f"/paniers/compte/abonnements/{subscription.pk}/" in body
    # recorded once under its key, and sent
    message = SubscriptionMessage.objects.get(subscription=subscription)
    assert (message.kind, message.key) == (MessageKind.CONFIRMED, f"confirmed-{subscription.pk}")
    assert message.sent_at is not None


def test_two_weekly_baskets_in_one_checkout_and_a_later_one_make_three_subscriptions(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    essentiel, cheeses, fruit = a_basket(), a_basket(price="25.00"), a_basket(price="30.00")
    # given an Essentiel basket and a cheese basket, both weekly, in one checkout
    add_to_cart(client, essentiel)
    add_to_cart(client, cheeses)
    to_preview(client)
    pay(client, saved_card(shopper), django_capture_on_commit_callbacks)
    # then two subscriptions start with that order, and two emails go
    first_order = Order.objects.get()
    assert sorted(
        BasketSubscription.objects.filter(first_order=first_order).values_list(
            "variant_id", flat=True
        )
    ) == sorted([essentiel.pk, cheeses.pk])
    assert len(confirmation_emails()) == 2
    # when the shopper checks out again later with another weekly basket
    add_to_cart(client, fruit)
    to_preview(client)
    response = pay(client, saved_card(shopper), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    # then a third subscription exists, and all three are on « Mes abonnements »
    assert BasketSubscription.objects.filter(user=shopper).count() == 3
    listing = client.get(reverse("baskets:subscriptions")).content.decode()
    for subscription in BasketSubscription.objects.all():
        assert reverse("baskets:subscription-detail", kwargs={"pk": subscription.pk}) in listing


def test_a_single_delivery_starts_no_subscription(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    variant = a_basket()
    # given the basket chosen « Une seule fois »
    add_to_cart(client, variant, frequency="once")
    to_preview(client)
    # when it is paid
    response = pay(client, saved_card(shopper), django_capture_on_commit_callbacks)
    # then the order is placed, and nothing more
    assert response.status_code == 302
    assert Order.objects.count() == 1
    assert not BasketSubscription.objects.exists()
    assert not confirmation_emails()
    assert "abonnement" not in client.get(response["Location"]).content.decode()


def test_an_add_without_the_choice_is_a_single_delivery(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    # given an add-to-cart post that does not send the option (an old page, a script)
    add_to_cart(client, a_basket(), frequency=None)
    to_preview(client)
    pay(client, saved_card(shopper), django_capture_on_commit_callbacks)
    assert Order.objects.count() == 1
    assert not BasketSubscription.objects.exists()


def test_a_declined_card_starts_no_subscription_and_keeps_the_cart(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    variant = a_basket()
    add_to_cart(client, variant)
    to_preview(client)
    # when the card is declined at payment
    response = pay(client, saved_card(shopper, DECLINED), django_capture_on_commit_callbacks)
    # then the shopper reads why on the preview, and nothing was created or sent
    assert response.status_code == 200
    assert "refusée" in response.content.decode()
    assert not Order.objects.exists()
    assert not BasketSubscription.objects.exists()
    assert not confirmation_emails()
    # and the weekly line is still in their cart, ready for another card
    cart = Cart.open.get(owner=shopper)
    assert [line.product_id for line in cart.all_lines()] == [variant.product_id]
    # which goes through as a new attempt and starts the subscription
    response = pay(client, saved_card(shopper), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert BasketSubscription.objects.get().first_order == Order.objects.get()


def test_a_failed_capture_cancels_the_subscription_it_started(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks, monkeypatch
):
    from payments.exceptions import PaymentError

    add_to_cart(client, a_basket())
    to_preview(client)

    def capture_fails(**kwargs):
        raise PaymentError("La banque a refusé la capture.")

    monkeypatch.setattr(
        "essentiels.oscar_forks.checkout.views.payment_intent_capture", capture_fails
    )
    # when the order is committed but its payment cannot be captured
    response = pay(client, saved_card(shopper), django_capture_on_commit_callbacks)
    # then the order is cancelled, and the subscription with it, without a confirmation
    assert response.status_code == 200
    assert Order.objects.get().status == "Annulée"
    subscription = BasketSubscription.objects.get()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert not confirmation_emails()


# --- an account is needed ----------------------------------------------------------------------


def test_a_guest_with_a_weekly_basket_is_asked_to_sign_in_and_keeps_the_cart(client, district):
    variant = a_basket()
    add_to_cart(client, variant)
    # when the anonymous shopper starts the checkout
    response = client.get(reverse("checkout:index"))
    html = response.content.decode()
    # then the gateway asks for an account, with no guest option
    assert response.status_code == 200
    assert "un abonnement demande un compte" in html
    assert 'value="anonymous"' not in html
    # and a guest submission (say, from an old page) is refused with a French message
    response = client.post(
        reverse("checkout:index"), {"username": "camille@example.org", "options": "anonymous"}
    )
    assert response.status_code == 200
    assert "Un panier hebdomadaire demande un compte" in response.content.decode()
    # and the preview too sends them back to the gateway
    response = client.get(reverse("checkout:preview"))
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:index")
    # the cart is untouched
    assert list(CartLine.objects.values_list("product_id", flat=True)) == [variant.product_id]


def test_a_guest_who_signs_in_finds_the_weekly_basket_and_subscribes(
    client, district, saved_card, django_capture_on_commit_callbacks
):
    user = UserFactory(email="lea@example.fr", first_name="Léa", password=PASSWORD)
    variant = a_basket()
    add_to_cart(client, variant)
    # when the shopper signs in through the gateway
    response = client.post(
        reverse("checkout:index"),
        {"username": "lea@example.fr", "options": "existing", "password": PASSWORD},
    )
    assert response.status_code == 302
    # then their cart (merged into the account's) still holds the weekly basket
    to_preview(client)
    cart = Cart.open.get(owner=user)
    assert [line.product_id for line in cart.all_lines()] == [variant.product_id]
    response = pay(client, saved_card(user), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert BasketSubscription.objects.get().user == user


def test_a_guest_with_a_single_delivery_still_checks_out_as_a_guest(client, district):
    add_to_cart(client, a_basket(), frequency="once")
    html = client.get(reverse("checkout:index")).content.decode()
    assert 'value="anonymous"' in html
    response = client.post(
        reverse("checkout:index"), {"username": "camille@example.org", "options": "anonymous"}
    )
    assert response.status_code == 302


def test_more_than_ten_weekly_baskets_are_refused_before_payment(client, district, shopper):
    add_to_cart(client, a_basket(), quantity=11)
    response = client.get(reverse("checkout:preview"))
    assert response.status_code == 302
    assert response["Location"] == reverse("basket:summary")
    html = client.get(response["Location"]).content.decode()
    assert "Un abonnement compte au plus 10 paniers par semaine" in html


# --- the service -------------------------------------------------------------------------------


def test_creating_twice_from_one_order_makes_one_subscription(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    add_to_cart(client, a_basket())
    to_preview(client)
    card = saved_card(shopper)
    pay(client, card, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    first = BasketSubscription.objects.get()
    # when the service runs again for the same order (a re-run, a racing request)
    again = subscriptions_create_from_order(
        order=order, customer_id=first.stripe_customer_id, payment_method_id=card
    )
    # then it returns the same subscription and creates nothing
    assert again == [first]
    assert BasketSubscription.objects.count() == 1


# --- the saved card pays the renewals ----------------------------------------------------------


def test_the_first_renewal_charges_the_saved_card_off_session(
    client, district, shopper, saved_card, django_capture_on_commit_callbacks
):
    variant = a_basket(price="60.00")
    add_to_cart(client, variant)
    to_preview(client)
    card = saved_card(shopper)
    pay(client, card, django_capture_on_commit_callbacks)
    subscription = BasketSubscription.objects.get()
    # when the cutoff of its first renewal passes
    after_cutoff = delivery_cutoff(day=subscription.starts_on) + timedelta(hours=1)
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=subscription.starts_on, now=after_cutoff
    )
    # then its order is placed and paid off-session with the card saved at checkout
    assert renewal.status == RenewalStatus.PAID, renewal.error
    assert OrderDelivery.objects.get(order=renewal.order).delivery_date == subscription.starts_on
    assert renewal.order.sources.get().amount_debited == renewal.order.total_incl_tax
    authorisation = StripeOperation.objects.get(
        order_number=renewal.order.number, kind="payment_intent"
    )
    assert authorisation.request["payment_method"] == card
    assert authorisation.request["customer"] == subscription.stripe_customer_id
    assert authorisation.request["off_session"] is True
