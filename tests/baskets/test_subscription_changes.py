"""Changing a subscription's basket, household size or address: from which delivery it applies,
what is refused, what renewals do afterwards, the email, and two tabs at once."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core import mail
from oscar.apps.catalogue.models import Product

from baskets.models import (
    MessageKind,
    RenewalStatus,
    SubscriptionMessage,
    SubscriptionRenewal,
    SubscriptionSkip,
)
from baskets.services.renewal import subscription_renew, subscriptions_due
from baskets.services.subscriptions import (
    SubscriptionAddressMoved,
    SubscriptionAddressNotServed,
    SubscriptionChange,
    SubscriptionChangeError,
    subscription_address_change,
    subscription_address_preview,
    subscription_cancel,
    subscription_due_dates,
    subscription_fixed_delivery,
    subscription_pause,
    subscription_resume,
    subscription_skip,
    subscription_variant_change,
)
from delivery.calendar import PARIS
from delivery.models import Postcode, Weekday
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import (
    AFTER_CUTOFF,
    BEFORE_CUTOFF,
    DELIVERY,
    NEXT_DELIVERY,
    THURSDAY_DELIVERY,
    district_not_open_yet,
    new_address,
    paris_5e_thursday,
    size_of,
    subscription_create,
)
from tests.conftest import race
from tests.delivery.factories import DistrictFactory
from tests.payments.conftest import (  # noqa: F401 — fixtures
    WEBHOOK_SECRET,
    customer_with_card,
    localstripe_url,
    stripe_api,
)

pytestmark = pytest.mark.django_db

AFTER_THURSDAY_CUTOFF = datetime(2026, 12, 8, 13, 0, tzinfo=PARIS)  # Tuesday 8, past noon


def changed_emails(subscription) -> list[SubscriptionMessage]:
    return list(
        SubscriptionMessage.objects.filter(
            subscription=subscription, kind=MessageKind.CHANGED
        ).order_by("pk")
    )


def state(subscription) -> tuple:
    subscription.refresh_from_db()
    return (
        subscription.variant_id,
        subscription.quantity,
        subscription.line1,
        subscription.postcode,
        subscription.district_id,
        subscription.starts_on,
    )


def placed(subscription, day: date, status: str = RenewalStatus.PAID) -> SubscriptionRenewal:
    """The renewal of a fixed delivery, as the dispatcher leaves it once its order exists."""
    return SubscriptionRenewal.objects.create(
        subscription=subscription, delivery_date=day, status=status
    )


# --- basket and household size ----------------------------------------------------------------


def test_a_bigger_size_before_the_cutoff_applies_from_the_coming_delivery():
    # given a subscription to the 2-person size, and the 4-person size on sale at 110 €
    subscription = subscription_create()
    four = size_of(subscription.variant, persons=4, price="110.00")
    # when the shopper switches to it, twice, on Friday before the cutoff
    change = subscription_variant_change(
        subscription_id=subscription.pk, variant_id=four.pk, quantity=2, now=BEFORE_CUTOFF
    )
    # then it applies from Tuesday 8, nothing was fixed yet
    assert isinstance(change, SubscriptionChange)
    assert (change.changed, change.applies_from, change.fixed_delivery) == (True, DELIVERY, None)
    subscription.refresh_from_db()
    assert (subscription.variant_id, subscription.quantity) == (four.pk, 2)
    # and one email, in French, says what and from when
    (email,) = changed_emails(subscription)
    assert email.subject == "Votre abonnement : le panier a changé"
    assert "pour 4 personnes (× 2) : 220,00 € par livraison" in email.body
    assert "à partir de la livraison du mardi 8 décembre 2026" in email.body
    assert email.delivery_date == DELIVERY


def test_the_same_basket_again_changes_nothing_and_sends_nothing():
    subscription = subscription_create()
    change = subscription_variant_change(
        subscription_id=subscription.pk, variant_id=subscription.variant_id, now=BEFORE_CUTOFF
    )
    assert change.changed is False
    assert changed_emails(subscription) == []


def test_another_basket_after_the_cutoff_applies_from_the_following_delivery():
    # given the cutoff of the 8th has passed and its order was placed with the current basket
    subscription = subscription_create()
    other = make_variant(components={make_grocery(): 3}, price="45.00")
    placed(subscription, DELIVERY)
    # when the shopper changes basket
    change = subscription_variant_change(
        subscription_id=subscription.pk, variant_id=other.pk, now=AFTER_CUTOFF
    )
    # then the 8th keeps its order, the change applies from the 15th, and both are said
    assert (change.applies_from, change.fixed_delivery) == (NEXT_DELIVERY, DELIVERY)
    (email,) = changed_emails(subscription)
    assert "à partir de la livraison du mardi 15 décembre 2026" in email.body
    assert "La commande du mardi 8 décembre 2026 était déjà arrêtée" in email.body


def test_a_change_while_the_fixed_order_is_being_placed_is_refused():
    # given the cutoff of the 8th has passed and the renewal has not placed its order yet
    subscription = subscription_create()
    other = make_variant(components={make_grocery(): 3}, price="45.00")
    before = state(subscription)
    # then changing basket now would change that fixed order: refused, try again shortly
    with pytest.raises(SubscriptionChangeError, match="en cours de préparation"):
        subscription_variant_change(
            subscription_id=subscription.pk, variant_id=other.pk, now=AFTER_CUTOFF
        )
    assert state(subscription) == before
    assert changed_emails(subscription) == []


@pytest.mark.parametrize("case", ["unpublished", "not public", "unknown"])
def test_a_basket_not_on_sale_is_refused(case):
    subscription = subscription_create()
    if case == "unpublished":
        variant_id = make_variant(components={make_grocery(): 1}, publish=False).pk
    elif case == "not public":
        withdrawn = make_variant(components={make_grocery(): 1})
        Product.objects.filter(pk=withdrawn.product_id).update(is_public=False)
        variant_id = withdrawn.pk
    else:
        variant_id = 987654
    before = state(subscription)
    with pytest.raises(SubscriptionChangeError, match="n’est pas en vente"):
        subscription_variant_change(
            subscription_id=subscription.pk, variant_id=variant_id, now=BEFORE_CUTOFF
        )
    assert state(subscription) == before
    assert changed_emails(subscription) == []


@pytest.mark.parametrize("quantity", [0, 11])
def test_a_quantity_out_of_range_is_refused(quantity):
    subscription = subscription_create()
    with pytest.raises(SubscriptionChangeError, match="entre 1 et 10"):
        subscription_variant_change(
            subscription_id=subscription.pk,
            variant_id=subscription.variant_id,
            quantity=quantity,
            now=BEFORE_CUTOFF,
        )
    subscription.refresh_from_db()
    assert subscription.quantity == 1


def test_a_cancelled_subscription_cannot_change_basket():
    subscription = subscription_create()
    subscription_cancel(subscription_id=subscription.pk, now=BEFORE_CUTOFF)
    other = make_variant(components={make_grocery(): 3}, price="45.00")
    with pytest.raises(SubscriptionChangeError, match="est résilié"):
        subscription_variant_change(
            subscription_id=subscription.pk, variant_id=other.pk, now=BEFORE_CUTOFF
        )


# --- address ----------------------------------------------------------------------------------


def test_moving_to_a_thursday_district_shows_the_new_day_then_renewals_follow_it():
    # given a Tuesday subscriber in Paris 13e, and Paris 5e delivered on Thursdays
    subscription = subscription_create()
    paris_5e = paris_5e_thursday()
    # when the shopper asks what moving to the 5e means, on Friday
    preview = subscription_address_preview(
        subscription_id=subscription.pk, address=new_address(postcode="75 005"), now=BEFORE_CUTOFF
    )
    # then: Paris 5e, Thursdays, first delivery Thursday 10 — and nothing written yet
    assert preview.district == paris_5e
    assert preview.district_changes
    assert preview.weekday_label == "jeudi"
    assert preview.first_delivery == THURSDAY_DELIVERY
    assert preview.fixed_delivery is None
    assert state(subscription)[4] != paris_5e.pk
    # when they confirm what they saw
    change = subscription_address_change(
        subscription_id=subscription.pk,
        address=new_address(postcode="75 005"),
        expected_district_id=paris_5e.pk,
        expected_first_delivery=THURSDAY_DELIVERY,
        now=BEFORE_CUTOFF,
    )
    # then the address, district and first renewal date are the new ones
    subscription.refresh_from_db()
    assert change.applies_from == THURSDAY_DELIVERY
    assert (subscription.line1, subscription.postcode, subscription.notes) == (
        "3 rue Mouffetard",
        "75005",
        "Code 1234",
    )
    assert (subscription.district_id, subscription.starts_on) == (paris_5e.pk, THURSDAY_DELIVERY)
    assert subscription_due_dates(subscription=subscription, count=2, now=BEFORE_CUTOFF) == [
        THURSDAY_DELIVERY,
        date(2026, 12, 17),
    ]
    # and the renewals: no order on Tuesday 8 any more, one on Thursday 10
    assert subscription.pk not in subscriptions_due(delivery_date=DELIVERY, now=AFTER_CUTOFF)
    assert subscription.pk in subscriptions_due(
        delivery_date=THURSDAY_DELIVERY, now=AFTER_THURSDAY_CUTOFF
    )
    # and the email says where, which day and from when
    (email,) = changed_emails(subscription)
    assert email.subject == "Votre adresse de livraison a changé"
    assert "3 rue Mouffetard" in email.body
    assert "Paris 5e : vous êtes désormais livré chaque jeudi" in email.body
    assert "à partir de la livraison du jeudi 10 décembre 2026" in email.body


def test_moving_after_the_cutoff_keeps_the_fixed_order_and_one_delivery_a_week():
    # given the Tuesday 8 order is fixed and placed at the old address
    subscription = subscription_create()
    paris_5e = paris_5e_thursday()
    placed(subscription, DELIVERY)
    # when the shopper moves to a Thursday district on Sunday afternoon
    preview = subscription_address_preview(
        subscription_id=subscription.pk, address=new_address(), now=AFTER_CUTOFF
    )
    # then Thursday 10 would be a second basket in the same week: the first is Thursday 17
    assert (preview.first_delivery, preview.fixed_delivery) == (date(2026, 12, 17), DELIVERY)
    subscription_address_change(
        subscription_id=subscription.pk,
        address=new_address(),
        expected_district_id=paris_5e.pk,
        expected_first_delivery=date(2026, 12, 17),
        now=AFTER_CUTOFF,
    )
    subscription.refresh_from_db()
    assert subscription.starts_on == date(2026, 12, 17)
    # the page still shows the 8th as fixed (its order exists), and no renewal on the 10th
    assert subscription_fixed_delivery(subscription=subscription, now=AFTER_CUTOFF) == DELIVERY
    assert subscription.pk not in subscriptions_due(
        delivery_date=THURSDAY_DELIVERY, now=AFTER_THURSDAY_CUTOFF
    )
    (email,) = changed_emails(subscription)
    assert "livrée à votre ancienne adresse" in email.body


def test_moving_while_the_fixed_order_is_being_placed_is_refused():
    subscription = subscription_create()
    paris_5e = paris_5e_thursday()
    before = state(subscription)
    with pytest.raises(SubscriptionChangeError, match="en cours de préparation"):
        subscription_address_preview(
            subscription_id=subscription.pk, address=new_address(), now=AFTER_CUTOFF
        )
    with pytest.raises(SubscriptionChangeError, match="en cours de préparation"):
        subscription_address_change(
            subscription_id=subscription.pk,
            address=new_address(),
            expected_district_id=paris_5e.pk,
            now=AFTER_CUTOFF,
        )
    assert state(subscription) == before


def test_a_new_address_in_the_same_district_keeps_the_day_and_the_skips():
    subscription = subscription_create()
    subscription_skip(
        subscription_id=subscription.pk, delivery_date=NEXT_DELIVERY, now=BEFORE_CUTOFF
    )
    address = new_address(postcode="75013", line1="40 avenue d’Italie")
    preview = subscription_address_preview(
        subscription_id=subscription.pk, address=address, now=BEFORE_CUTOFF
    )
    assert (preview.district_changes, preview.first_delivery) == (False, DELIVERY)
    subscription_address_change(
        subscription_id=subscription.pk,
        address=address,
        expected_district_id=subscription.district_id,
        now=BEFORE_CUTOFF,
    )
    subscription.refresh_from_db()
    assert (subscription.line1, subscription.starts_on) == ("40 avenue d’Italie", date(2026, 12, 1))
    assert SubscriptionSkip.objects.filter(subscription=subscription).count() == 1
    email = changed_emails(subscription)[-1]
    assert "Toujours livré chaque mardi à Paris 13e" in email.body


def test_moving_drops_upcoming_skips_of_days_the_new_district_does_not_deliver():
    subscription = subscription_create()
    paris_5e = paris_5e_thursday()
    subscription_skip(
        subscription_id=subscription.pk, delivery_date=NEXT_DELIVERY, now=BEFORE_CUTOFF
    )
    subscription_address_change(
        subscription_id=subscription.pk,
        address=new_address(),
        expected_district_id=paris_5e.pk,
        now=BEFORE_CUTOFF,
    )
    assert not SubscriptionSkip.objects.filter(subscription=subscription).exists()


@pytest.mark.parametrize(
    ("postcode", "message"),
    [
        ("99999", "hors de notre zone de livraison"),
        ("93200", "Nous ne livrons pas encore Saint-Denis (93200)"),
    ],
)
def test_an_address_we_do_not_deliver_is_refused_with_the_waitlist(postcode, message):
    subscription = subscription_create()
    district_not_open_yet()
    before = state(subscription)
    with pytest.raises(SubscriptionAddressNotServed, match=re.escape(message)) as refused:
        subscription_address_preview(
            subscription_id=subscription.pk,
            address=new_address(postcode=postcode, line4="Saint-Denis"),
            now=BEFORE_CUTOFF,
        )
    assert (refused.value.postcode, refused.value.commune) == (postcode, "Saint-Denis")
    with pytest.raises(SubscriptionAddressNotServed):
        subscription_address_change(
            subscription_id=subscription.pk,
            address=new_address(postcode=postcode),
            expected_district_id=subscription.district_id,
            now=BEFORE_CUTOFF,
        )
    assert state(subscription) == before
    assert changed_emails(subscription) == []


def test_a_postcode_two_communes_share_asks_for_the_commune():
    subscription = subscription_create()
    for name, code in (("Vanves", "92075"), ("Malakoff", "92046")):
        DistrictFactory(name=name, insee_code=code, department="92", postcodes=["92170"])
    with pytest.raises(SubscriptionChangeError, match="Plusieurs communes"):
        subscription_address_preview(
            subscription_id=subscription.pk,
            address=new_address(postcode="92170", line4="Paris"),
            now=BEFORE_CUTOFF,
        )
    preview = subscription_address_preview(
        subscription_id=subscription.pk,
        address=new_address(postcode="92170", line4="MALAKOFF"),
        now=BEFORE_CUTOFF,
    )
    assert preview.district.name == "Malakoff"


def test_a_district_moved_between_preview_and_confirm_is_refused_with_the_new_preview():
    # given the shopper saw Paris 5e on Thursdays
    subscription = subscription_create()
    paris_5e = paris_5e_thursday()
    preview = subscription_address_preview(
        subscription_id=subscription.pk, address=new_address(), now=BEFORE_CUTOFF
    )
    # when ops move postcode 75005 to a Friday district before they confirm
    friday = DistrictFactory(name="Paris 5e Ouest", insee_code="75199", weekday=Weekday.FRIDAY)
    Postcode.objects.filter(code="75005").update(district=friday)
    before = state(subscription)
    with pytest.raises(SubscriptionAddressMoved, match="chaque vendredi") as moved:
        subscription_address_change(
            subscription_id=subscription.pk,
            address=new_address(),
            expected_district_id=preview.district.pk,
            expected_first_delivery=preview.first_delivery,
            now=BEFORE_CUTOFF,
        )
    # then nothing changed, and the new preview is there to confirm
    assert state(subscription) == before
    assert moved.value.preview.district == friday
    assert moved.value.preview.first_delivery == date(2026, 12, 11)
    assert paris_5e.pk != friday.pk
    assert changed_emails(subscription) == []


def test_a_weekday_moved_between_preview_and_confirm_is_refused():
    subscription = subscription_create()
    paris_5e = paris_5e_thursday()
    preview = subscription_address_preview(
        subscription_id=subscription.pk, address=new_address(), now=BEFORE_CUTOFF
    )
    paris_5e.weekday = Weekday.FRIDAY
    paris_5e.save()
    with pytest.raises(SubscriptionAddressMoved):
        subscription_address_change(
            subscription_id=subscription.pk,
            address=new_address(),
            expected_district_id=paris_5e.pk,
            expected_first_delivery=preview.first_delivery,
            now=BEFORE_CUTOFF,
        )
    subscription.refresh_from_db()
    assert subscription.district_id != paris_5e.pk


# --- the renewal after a move, for real -------------------------------------------------------


@pytest.fixture
def _stripe(settings, localstripe_url):  # noqa: F811
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_changes"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_changes"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.mark.usefixtures("_stripe")
def test_after_a_move_the_fixed_order_goes_to_the_old_address_and_the_next_to_the_new(
    customer_with_card,  # noqa: F811
    stripe_api,  # noqa: F811
):
    # given a subscriber paying with a saved card, the cutoff of Tuesday 8 passed
    customer_id, payment_method_id = customer_with_card()
    subscription = subscription_create(customer_id=customer_id, payment_method_id=payment_method_id)
    paris_5e = paris_5e_thursday()
    # and the renewal placed (and charged) the 8th's order
    renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=DELIVERY, now=AFTER_CUTOFF
    )
    assert renewal.order is not None
    # when the shopper moves to Paris 5e
    subscription_address_change(
        subscription_id=subscription.pk,
        address=new_address(),
        expected_district_id=paris_5e.pk,
        now=AFTER_CUTOFF,
    )
    # then the 8th's order is still to the old address, in the old district
    renewal.order.refresh_from_db()
    assert renewal.order.shipping_address.line1 == "12 rue de Tolbiac"
    assert renewal.order.delivery.district_id != paris_5e.pk
    # and the next renewal is on Thursday 17 at the new address, not Tuesday 15
    assert subscription.pk not in subscriptions_due(
        delivery_date=NEXT_DELIVERY, now=datetime(2026, 12, 13, 13, tzinfo=PARIS)
    )
    thursday = date(2026, 12, 17)
    later = datetime(2026, 12, 15, 13, tzinfo=PARIS)
    assert subscription.pk in subscriptions_due(delivery_date=thursday, now=later)
    next_renewal = subscription_renew(
        subscription_id=subscription.pk, delivery_date=thursday, now=later
    )
    assert next_renewal.order.shipping_address.line1 == "3 rue Mouffetard"
    assert next_renewal.order.delivery.district_id == paris_5e.pk


# --- the email --------------------------------------------------------------------------------


def test_the_changed_email_is_sent_once_in_french(django_capture_on_commit_callbacks):
    subscription = subscription_create()
    four = size_of(subscription.variant, persons=4)
    # when the shopper changes size, then clicks again
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            subscription_variant_change(
                subscription_id=subscription.pk, variant_id=four.pk, now=BEFORE_CUTOFF
            )
    # then one email went out, in French, to the shopper
    (sent,) = mail.outbox
    assert sent.to == [subscription.user.email]
    assert sent.subject == "Votre abonnement : le panier a changé"
    assert "Bonjour" in sent.body
    assert "pour 4 personnes" in sent.body
    assert changed_emails(subscription)[0].sent_at is not None


def test_skip_pause_resume_and_cancel_are_confirmed_by_email_once_each():
    subscription = subscription_create()
    for _ in range(2):
        subscription_skip(
            subscription_id=subscription.pk, delivery_date=DELIVERY, now=BEFORE_CUTOFF
        )
    subscription_pause(subscription_id=subscription.pk, until=date(2027, 1, 5), now=BEFORE_CUTOFF)
    subscription_resume(subscription_id=subscription.pk, now=BEFORE_CUTOFF)
    subscription_resume(subscription_id=subscription.pk, now=BEFORE_CUTOFF)  # already active
    subscription_cancel(subscription_id=subscription.pk, now=BEFORE_CUTOFF)
    subscription_cancel(subscription_id=subscription.pk, now=BEFORE_CUTOFF)
    subjects = [email.subject for email in changed_emails(subscription)]
    assert subjects == [
        "Votre livraison du mardi 8 décembre est sautée",
        "Votre abonnement est en pause jusqu’au 5 janvier",
        "Votre abonnement est de nouveau actif",
        "Votre abonnement est résilié",
    ]
    skip, pause, resume, cancel = changed_emails(subscription)
    assert "ne sera pas facturée" in skip.body
    assert "Prochaine livraison : mardi 15 décembre 2026" in skip.body
    assert "aucune livraison avant le mardi 5 janvier 2027" in pause.body
    assert "Prochaine livraison : mardi 15 décembre 2026" in resume.body
    assert "aucune autre livraison ne sera commandée" in cancel.body


# --- two tabs ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_tabs_changing_basket_and_address_at_once_apply_both_in_turn():
    # given a subscriber, another basket on sale and a Thursday district
    subscription = subscription_create()
    other = make_variant(components={make_grocery(): 3}, price="45.00")
    paris_5e = paris_5e_thursday()
    turns = iter(range(100))

    def one_tab():
        if next(turns) % 2:
            return subscription_variant_change(
                subscription_id=subscription.pk, variant_id=other.pk, now=BEFORE_CUTOFF
            )
        return subscription_address_change(
            subscription_id=subscription.pk,
            address=new_address(),
            expected_district_id=paris_5e.pk,
            now=BEFORE_CUTOFF,
        )

    # when the two tabs post at the same moment, each on its own connection
    results = race(2, one_tab)
    # then both succeed, one after the other, and the subscription holds both changes
    assert all(isinstance(result, SubscriptionChange) for result in results), results
    assert all(result.changed for result in results)
    subscription.refresh_from_db()
    assert (subscription.variant_id, subscription.district_id) == (other.pk, paris_5e.pk)
    assert subscription.starts_on == THURSDAY_DELIVERY
    assert len(changed_emails(subscription)) == 2


@pytest.mark.django_db(transaction=True)
def test_two_tabs_choosing_different_sizes_end_on_the_last_one_applied():
    subscription = subscription_create()
    sizes = [size_of(subscription.variant, persons=n, price=f"{30 * n}.00") for n in (1, 4)]
    turns = iter(range(100))

    def one_tab():
        variant = sizes[next(turns) % 2]
        return subscription_variant_change(
            subscription_id=subscription.pk, variant_id=variant.pk, now=BEFORE_CUTOFF
        )

    results = race(4, one_tab)
    assert all(isinstance(result, SubscriptionChange) for result in results), results
    subscription.refresh_from_db()
    emails = changed_emails(subscription)
    # each applied change was confirmed, and the last email names the size kept
    assert len(emails) == sum(result.changed for result in results) >= 1
    persons = subscription.variant.persons
    assert f"pour {persons} personne" in emails[-1].body
    assert subscription.variant_id in {size.pk for size in sizes}
    assert Decimal(subscription.variant.product.stockrecords.first().price) == 30 * persons
