"""No shopper reaches another shopper's things: orders (and their lines, reorder), subscriptions
(every self-service page and action), addresses, emails, notifications, alerts, wish lists and
the payment page of a weekly order — neither with the other's ids nor with guessed ones
(sequential neighbours, ids that do not exist). Every try, read or write, is a 404 (or 403), and
nothing in the database moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from oscar.apps.address.models import UserAddress
from oscar.apps.communication.models import Email, Notification
from oscar.apps.customer.models import ProductAlert
from oscar.apps.order.models import Order
from oscar.apps.wishlists.models import WishList
from oscar.test import factories as oscar

from baskets.models import BasketSubscription, SubscriptionRenewal, SubscriptionSkip
from tests.baskets.subscription_factories import DELIVERY, new_address, subscription_create

pytestmark = pytest.mark.django_db

PAST_ANY_ID = 10_000_000


@dataclass
class Shopper:
    user: object
    order: Order
    subscription: BasketSubscription
    renewal: SubscriptionRenewal
    address: UserAddress
    email: Email
    notification: Notification
    alert: ProductAlert
    wishlist: WishList


def shopper_with_everything(email: str, **subscription) -> Shopper:
    sub = subscription_create(**subscription)
    user = sub.user
    user.email = email
    user.save(update_fields=["email"])
    order = oscar.create_order(user=user)
    renewal_order = oscar.create_order(user=user)
    renewal = SubscriptionRenewal.objects.create(
        subscription=sub,
        delivery_date=DELIVERY,
        order=renewal_order,
        status="declined",
        attempts=1,
    )
    product = order.lines.first().product
    return Shopper(
        user=user,
        order=order,
        subscription=sub,
        renewal=renewal,
        address=oscar.UserAddressFactory(user=user, country=sub.country),
        email=Email.objects.create(user=user, subject="Votre commande", body_text="…", email=email),
        notification=Notification.objects.create(recipient=user, subject="Livraison"),
        alert=oscar.ProductAlertFactory(user=user, product=product),
        wishlist=oscar.WishListFactory(owner=user, visibility=WishList.PRIVATE),
    )


@pytest.fixture
def victim() -> Shopper:
    return shopper_with_everything("lea@example.org")


@pytest.fixture
def attacker(victim) -> Shopper:
    # same district and basket: the attacker's own pages work, only the ids differ
    return shopper_with_everything(
        "bob@example.org",
        district=victim.subscription.district,
        variant=victim.subscription.variant,
    )


def attacker_client(attacker: Shopper) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(attacker.user)
    return client


def snapshot() -> dict:
    """Everything a forged request could change, row by row."""
    return {
        "orders": list(
            Order.objects.order_by("pk").values("pk", "status", "user_id", "total_incl_tax")
        ),
        "subscriptions": list(BasketSubscription.objects.order_by("pk").values()),
        "skips": list(SubscriptionSkip.objects.order_by("pk").values()),
        "renewals": list(SubscriptionRenewal.objects.order_by("pk").values()),
        "addresses": list(UserAddress.objects.order_by("pk").values()),
        "notifications": list(Notification.objects.order_by("pk").values()),
        "alerts": list(ProductAlert.objects.order_by("pk").values()),
        "wishlists": list(WishList.objects.order_by("pk").values()),
        "carts": list(
            oscar.BasketFactory._meta.model.objects.order_by("pk").values("pk", "status")
        ),
    }


def guesses(victim_pk: int, attacker_pk: int) -> list[int]:
    """The victim's id, its neighbours that are not the attacker's, and one that is nobody's."""
    return sorted({victim_pk, victim_pk - 1, victim_pk + 1, PAST_ANY_ID} - {attacker_pk, 0})


def shop_requests(victim: Shopper, attacker: Shopper) -> list[tuple[str, str, dict]]:
    """(method, path, data) for every shopper URL holding an id, aimed at the victim."""
    r = reverse
    address_data = {
        "first_name": "Bob",
        "last_name": "Pirate",
        "line1": "1 rue Volée",
        "line4": "Paris",
        "postcode": "75013",
        "country": "FR",
    }
    requests: list[tuple[str, str, dict]] = []
    number = victim.order.number
    line = victim.order.lines.first()
    for path in (
        r("customer:order", args=[number]),
        r("customer:order-line", args=[number, line.pk]),
    ):
        requests += [("get", path, {}), ("post", path, {"action": "reorder"})]
    # an order number guessed one above or below
    for guessed in (str(int(number) + 1), str(int(number) - 1), "100999"):
        if guessed != attacker.order.number:
            requests.append(("get", r("customer:order", args=[guessed]), {}))
            requests.append(("post", r("customer:order", args=[guessed]), {"action": "reorder"}))

    for pk in guesses(victim.address.pk, attacker.address.pk):
        requests += [
            ("get", r("customer:address-detail", args=[pk]), {}),
            ("post", r("customer:address-detail", args=[pk]), address_data),
            ("get", r("customer:address-delete", args=[pk]), {}),
            ("post", r("customer:address-delete", args=[pk]), {}),
            ("post", r("customer:address-change-status", args=[pk, "default_for_shipping"]), {}),
            ("post", r("customer:address-change-status", args=[pk, "default_for_billing"]), {}),
            ("get", r("checkout:user-address-update", args=[pk]), {}),
            ("post", r("checkout:user-address-update", args=[pk]), address_data),
            ("post", r("checkout:user-address-delete", args=[pk]), {}),
        ]
    for pk in guesses(victim.email.pk, attacker.email.pk):
        requests.append(("get", r("customer:email-detail", args=[pk]), {}))
    for pk in guesses(victim.notification.pk, attacker.notification.pk):
        requests.append(("get", r("customer:notifications-detail", args=[pk]), {}))
    for pk in guesses(victim.alert.pk, attacker.alert.pk):
        requests.append(("post", r("customer:alerts-cancel-by-pk", args=[pk]), {}))
    key = victim.wishlist.key
    requests += [
        ("get", r("customer:wishlists-detail", args=[key]), {}),
        ("post", r("customer:wishlists-update", args=[key]), {"name": "Volée"}),
        ("post", r("customer:wishlists-delete", args=[key]), {}),
        ("get", r("wishlists:detail", args=[key]), {}),
    ]

    subscription_posts = {
        "subscription-skip": {"delivery_date": DELIVERY.isoformat()},
        "subscription-pause": {"until": (DELIVERY + timedelta(days=28)).isoformat()},
        "subscription-resume": {},
        "subscription-cancel": {"reason": "volé"},
        "subscription-change-basket": {
            "variant": victim.subscription.variant_id,
            "quantity": 3,
        },
        "subscription-change-address": _address_form(new_address()),
        "subscription-change-address-confirm": {
            **_address_form(new_address()),
            "district": victim.subscription.district_id,
            "first_delivery": DELIVERY.isoformat(),
        },
    }
    for pk in guesses(victim.subscription.pk, attacker.subscription.pk):
        requests.append(("get", r("baskets:subscription-detail", args=[pk]), {}))
        for name in ("subscription-change-basket", "subscription-change-address"):
            requests.append(("get", r(f"baskets:{name}", args=[pk]), {}))
        for name, data in subscription_posts.items():
            requests.append(("post", r(f"baskets:{name}", args=[pk]), data))
    for pk in guesses(victim.renewal.pk, attacker.renewal.pk):
        path = r("baskets:renewal-payment", args=[pk])
        requests += [
            ("get", path, {}),
            ("post", path, {}),
            ("post", path, {"payment_method_id": "pm_card_visa"}),
        ]
    return requests


def _address_form(address) -> dict:
    from dataclasses import asdict

    return {k: v for k, v in asdict(address).items() if v is not None}


def test_the_attackers_own_pages_answer(victim, attacker):
    # given the same requests aimed at the attacker's own ids (the control)
    client = attacker_client(attacker)
    own = [
        reverse("customer:order", args=[attacker.order.number]),
        reverse("customer:address-detail", args=[attacker.address.pk]),
        reverse("customer:email-detail", args=[attacker.email.pk]),
        reverse("customer:wishlists-detail", args=[attacker.wishlist.key]),
        reverse("baskets:subscription-detail", args=[attacker.subscription.pk]),
        reverse("baskets:subscription-change-basket", args=[attacker.subscription.pk]),
        reverse("baskets:subscription-change-address", args=[attacker.subscription.pk]),
    ]
    # then they open: the refusals below are about whose ids, not broken pages
    for path in own:
        assert client.get(path).status_code == 200, path


def test_no_shopper_reads_or_changes_another_shoppers_things(victim, attacker):
    client = attacker_client(attacker)
    before = snapshot()
    answered = {}
    for method, path, data in shop_requests(victim, attacker):
        response = getattr(client, method)(path, data)
        answered[(method, path)] = response.status_code
    leaks = {key: status for key, status in answered.items() if status not in (403, 404)}
    assert not leaks, "answered instead of 404/403:\n" + "\n".join(
        f"  {method.upper()} {path}: {status}" for (method, path), status in leaks.items()
    )
    # and nothing moved: no skip, no pause, no new address, no order changed, no cart filled
    assert snapshot() == before
    assert len(answered) > 80


def test_anonymous_visitors_are_sent_to_log_in(victim, attacker):
    client = Client(raise_request_exception=False)
    before = snapshot()
    for method, path, data in shop_requests(victim, attacker):
        response = getattr(client, method)(path, data)
        assert response.status_code in (302, 403, 404), (method, path, response.status_code)
        if response.status_code == 302:
            assert "/login/" in response["Location"], (method, path, response["Location"])
    assert snapshot() == before


def test_a_guest_order_needs_its_signed_link_and_its_email(attacker):
    # given a guest's order (Oscar's order-status page: signed number + the guest's email)
    guest = oscar.create_order(guest_email="invite@example.org")
    client = attacker_client(attacker)
    forged = "A" * 20
    # when the number is tried with a forged signature, even with the right email
    page = reverse("customer:anon-order", args=[guest.number, forged])
    form = reverse("customer:anon-order-form", args=[guest.number, forged])
    assert client.get(page)["Location"] == form
    response = client.post(form, {"email": "invite@example.org"})
    # then the form says it found nothing, and shows nothing of the order
    assert response.status_code == 200
    assert response.context["form"].errors
    assert str(guest.total_incl_tax) not in response.content.decode()
    # while the real link and email open it (the control)
    real = reverse("customer:anon-order-form", args=[guest.number, guest.verification_hash()])
    assert client.post(real, {"email": "invite@example.org"}).status_code == 302
