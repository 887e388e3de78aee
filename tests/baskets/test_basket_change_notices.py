"""A basket's price or composition change reaches subscribers' next orders only, and each
subscriber is told once, in French, before the cutoff of the delivery it applies to.

Renewals run for real against PostgreSQL and localstripe (as in test_renewal.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.db import transaction
from django.urls import reverse

from baskets.models import (
    BasketComponent,
    MessageKind,
    RenewalStatus,
    SubscriptionMessage,
)
from baskets.services.basket_changes import variant_change_notices_send
from baskets.services.renewal import subscription_renew
from baskets.services.subscriptions import subscription_cancel
from delivery.calendar import PARIS
from essentiels.oscar_forks.partner.models import StockRecord
from essentiels.roles import BACK_OFFICE_GROUP
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import (
    AFTER_CUTOFF,
    DELIVERY,
    NEXT_DELIVERY,
    subscription_create,
)
from tests.payments.conftest import (  # noqa: F401 — fixtures
    WEBHOOK_SECRET,
    customer_with_card,
    intents_for_order,
    localstripe_url,
    stripe_api,
)

pytestmark = pytest.mark.django_db

# Monday 7 December: the order of Tuesday 8 is fixed (its cutoff was Sunday 6, 12:00); the
# delivery of Tuesday 15 is still open until Sunday 13, 12:00.
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=PARIS)
AFTER_NEXT_CUTOFF = datetime(2026, 12, 13, 13, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _stripe_settings(settings, localstripe_url):  # noqa: F811
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_basket_changes"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_basket_changes"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def subscribed(customer_with_card):  # noqa: F811
    """``subscribed(**fields)``: a subscription paying with a card saved on localstripe."""

    def make(**fields):
        customer_id, payment_method_id = customer_with_card()
        return subscription_create(
            customer_id=customer_id, payment_method_id=payment_method_id, **fields
        )

    return make


def renewed(subscription, *, day=DELIVERY, now=AFTER_CUTOFF):
    renewal = subscription_renew(subscription_id=subscription.pk, delivery_date=day, now=now)
    assert renewal.status == RenewalStatus.PAID, renewal.error
    return renewal


def price_set(variant, price: str) -> None:
    record = StockRecord.objects.get(product=variant.product)
    record.price = Decimal(price)
    record.save()


def notices_send(variant, *, now=MONDAY, capture) -> int:
    # The emails go out when the notice's transaction commits.
    with capture(execute=True):
        return variant_change_notices_send(variant_id=variant.pk, now=now)


def sent_to(user) -> list:
    return [message for message in mail.outbox if message.to == [user.email]]


def test_a_price_change_emails_each_subscriber_once_in_french(
    subscribed, django_capture_on_commit_callbacks
):
    # given a basket at 60 € with two subscribers who had their order of the 8th, one of them
    # for two baskets, a cancelled subscriber and a subscriber of another basket
    variant = make_variant(components={make_grocery("Riz basmati"): 2}, price="60.00")
    lea = subscribed(variant=variant)
    marc = subscribed(variant=variant, quantity=2)
    gone = subscribed(variant=variant)
    elsewhere = subscribed()
    for subscription in (lea, marc, gone, elsewhere):
        renewed(subscription)
    subscription_cancel(subscription_id=gone.pk, reason="Déménage")
    mail.outbox.clear()
    # when the basket goes up to 65 € on Monday 7 and the notices run
    price_set(variant, "65.00")
    sent = notices_send(variant, capture=django_capture_on_commit_callbacks)
    # then each active subscriber of that basket gets one email, and nobody else
    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([lea.user.email, marc.user.email])
    # in French: what changes, from which delivery, and until when they can act
    (email,) = sent_to(lea.user)
    title = variant.product.get_title()
    assert email.subject == f"Votre panier « {title} » change à partir du 15 décembre"
    assert "prix par livraison : 60,00 € → 65,00 €" in email.body
    assert "Votre livraison du mardi 8 décembre est déjà arrêtée" in email.body
    assert "à partir de votre livraison du mardi 15 décembre 2026" in email.body
    assert "Jusqu’au dimanche 13 décembre à 12h00" in email.body
    assert f"/paniers/compte/abonnements/{lea.pk}/" in email.body
    assert "Riz basmati" not in email.body  # the contents did not change
    (email,) = sent_to(marc.user)
    assert "prix par livraison : 120,00 € → 130,00 € (pour 2 paniers)" in email.body
    message = SubscriptionMessage.objects.get(subscription=lea, kind=MessageKind.BASKET_CHANGED)
    assert (message.kind, message.delivery_date) == (MessageKind.BASKET_CHANGED, NEXT_DELIVERY)
    assert message.sent_at is not None
    # and running the notices again sends nothing more
    mail.outbox.clear()
    assert notices_send(variant, capture=django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


def composition_form(variant, *, quantities: dict, removed=(), added=()) -> dict:
    """The variant's admin page POST: existing lines requantified or deleted, lines added."""
    existing = list(variant.components.order_by("pk"))
    data = {
        "themed_basket": variant.themed_basket_id,
        "persons": variant.persons,
        "price": "60,00",
        "on_sale": "on",
        "components-TOTAL_FORMS": len(existing) + len(added),
        "components-INITIAL_FORMS": len(existing),
        "components-MIN_NUM_FORMS": 0,
        "components-MAX_NUM_FORMS": 1000,
    }
    for i, component in enumerate(existing):
        data |= {
            f"components-{i}-id": component.pk,
            f"components-{i}-variant": variant.pk,
            f"components-{i}-product": component.product_id,
            f"components-{i}-quantity": quantities.get(component.product, component.quantity),
        }
        if component.product in removed:
            data[f"components-{i}-DELETE"] = "on"
    for j, (product, quantity) in enumerate(added, start=len(existing)):
        data |= {
            f"components-{j}-variant": variant.pk,
            f"components-{j}-product": product.pk,
            f"components-{j}-quantity": quantity,
        }
    return data


def test_many_component_edits_in_one_admin_save_make_one_email_per_subscriber(
    client, subscribed, settings, django_capture_on_commit_callbacks
):
    # (through Django settings, not app.conf: a value set on app.conf would outlive the test)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    # given a basket of rice, lentils and oil with two subscribers who had an order
    rice, lentils, oil = (make_grocery(t) for t in ("Riz basmati", "Lentilles", "Huile d’olive"))
    variant = make_variant(components={rice: 2, lentils: 1, oil: 1}, price="60.00")
    lea, marc = subscribed(variant=variant), subscribed(variant=variant)
    renewed(lea)
    renewed(marc)
    mail.outbox.clear()
    staff = get_user_model().objects.create_user(
        username="camille", email="camille@essentiels.localhost", password="x", is_staff=True
    )
    staff.groups.add(Group.objects.get(name=BACK_OFFICE_GROUP))
    client.force_login(staff)
    url = reverse("admin:baskets_basketvariant_change", args=[variant.pk])
    pasta = make_grocery("Pâtes")
    # when the back office saves, at once, one more bag of rice, no lentils and pasta added
    form = composition_form(variant, quantities={rice: 3}, removed=[lentils], added=[(pasta, 4)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, form)
    # then the composition is saved, and each subscriber got exactly one email listing it all
    assert response.status_code == 302, response.content.decode()[:2000]
    composition = BasketComponent.objects.filter(variant=variant)
    assert set(composition.values_list("product", "quantity")) == {
        (rice.pk, 3),
        (oil.pk, 1),
        (pasta.pk, 4),
    }
    assert sorted(m.to[0] for m in mail.outbox) == sorted([lea.user.email, marc.user.email])
    body = sent_to(lea.user)[0].body
    assert "ajouté : Pâtes × 4" in body
    assert "retiré : Lentilles" in body
    assert "Riz basmati : 2 → 3" in body
    assert "Huile" not in body
    assert "prix par livraison" not in body  # same price
    # and saving the page again unchanged tells nobody anything
    mail.outbox.clear()
    variant.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, composition_form(variant, quantities={}))
    assert response.status_code == 302
    assert mail.outbox == []
    assert SubscriptionMessage.objects.filter(kind=MessageKind.BASKET_CHANGED).count() == 2


def test_the_fixed_order_keeps_its_price_and_the_next_renewal_takes_the_new_one(
    subscribed,
    stripe_api,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    # given the order of Tuesday 8 placed and paid at 60 € (+ 4.90 € delivery)
    variant = make_variant(components={make_grocery(): 2}, price="60.00")
    lea = subscribed(variant=variant)
    first = renewed(lea)
    # when the price rises to 65 € after its cutoff, and the shopper is told
    price_set(variant, "65.00")
    assert notices_send(variant, capture=django_capture_on_commit_callbacks) == 1
    # then the order of the 8th keeps its price: its line, its total, its charge
    first.order.refresh_from_db()
    assert first.order.lines.get().unit_price_incl_tax == Decimal("60.00")
    assert first.order.total_incl_tax == Decimal("64.90")
    assert [pi.amount for pi in intents_for_order(stripe_api, first.order.number)] == [6490]
    # and the renewal of the 15th is placed and charged at the new price
    second = renewed(lea, day=NEXT_DELIVERY, now=AFTER_NEXT_CUTOFF)
    assert second.order.lines.get().unit_price_incl_tax == Decimal("65.00")
    assert second.order.total_incl_tax == Decimal("69.90")
    assert [pi.amount for pi in intents_for_order(stripe_api, second.order.number)] == [6990]
    # and that order being what the shopper was told, there is nothing more to tell
    mail.outbox.clear()
    assert (
        notices_send(variant, now=AFTER_NEXT_CUTOFF, capture=django_capture_on_commit_callbacks)
        == 0
    )


def test_a_change_and_its_reversal_are_both_told_and_nothing_else(
    subscribed, django_capture_on_commit_callbacks
):
    variant = make_variant(components={make_grocery(): 2}, price="60.00")
    lea = subscribed(variant=variant)
    renewed(lea)
    mail.outbox.clear()
    # a rise to 65 € is told
    price_set(variant, "65.00")
    assert notices_send(variant, capture=django_capture_on_commit_callbacks) == 1
    # when it is taken back before the next cutoff, the shopper is told it is undone
    price_set(variant, "60.00")
    assert notices_send(variant, capture=django_capture_on_commit_callbacks) == 1
    undone = mail.outbox[-1]
    assert undone.subject == f"Votre panier « {variant.product.get_title()} » reste inchangé"
    assert "elle est annulée" in undone.body
    assert "à 60,00 € par livraison" in undone.body
    assert notices_send(variant, capture=django_capture_on_commit_callbacks) == 0
    # and the same rise again is told again
    price_set(variant, "65.00")
    assert notices_send(variant, capture=django_capture_on_commit_callbacks) == 1
    assert len(mail.outbox) == 3


def test_a_subscriber_with_no_order_of_this_basket_yet_is_not_emailed(
    subscribed, django_capture_on_commit_callbacks
):
    # nothing to compare with: their first order will be at the new price anyway
    variant = make_variant(components={make_grocery(): 2}, price="60.00")
    subscribed(variant=variant)
    price_set(variant, "65.00")
    assert notices_send(variant, capture=django_capture_on_commit_callbacks) == 0
    assert not SubscriptionMessage.objects.filter(kind=MessageKind.BASKET_CHANGED).exists()


def test_one_transaction_of_many_writes_enqueues_one_task_per_changed_variant(
    django_capture_on_commit_callbacks,
):
    # given two baskets and a grocery product in neither
    rice, oil = make_grocery("Riz"), make_grocery("Huile")
    first = make_variant(components={rice: 1, oil: 1})
    second = make_variant(components={rice: 2})
    unrelated = make_grocery("Sel")
    # when one transaction requantifies two lines of the first, reprices both baskets and
    # changes the unrelated product's price
    with (
        mock.patch("baskets.receivers._notices_enqueue") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        BasketComponent.objects.filter(variant=first).update(quantity=3)  # no signal
        for component in BasketComponent.objects.filter(variant=first):
            component.save()
        price_set(first, "61.00")
        price_set(second, "62.00")
        price_set_product(unrelated, "3.00")
        # nothing is enqueued before the commit
        assert enqueue.call_count == 0
    # then each basket's notice task is enqueued once, and none for the grocery product
    assert sorted(call.args for call in enqueue.call_args_list) == sorted(
        [(first.pk,), (second.pk,)]
    )


def price_set_product(product, price: str) -> None:
    record = StockRecord.objects.get(product=product)
    record.price = Decimal(price)
    record.save()
