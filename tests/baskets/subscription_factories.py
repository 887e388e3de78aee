"""Builders for subscription tests: a shopper in Paris 13e (delivered on Tuesdays) subscribed
to a published basket, with a fixed "now" around the cutoff of Tuesday 8 December 2026."""

from __future__ import annotations

from datetime import date, datetime

from oscar.test.factories import CountryFactory, UserFactory

from baskets.models import BasketSubscription
from delivery.calendar import PARIS
from tests.baskets.conftest import make_grocery, make_variant
from tests.delivery.factories import paris_13e

DELIVERY = date(2026, 12, 8)  # a Tuesday; cutoff: Sunday 6 December, 12:00 Paris
NEXT_DELIVERY = date(2026, 12, 15)
BEFORE_CUTOFF = datetime(2026, 12, 4, 10, 0, tzinfo=PARIS)  # Friday before
AFTER_CUTOFF = datetime(2026, 12, 6, 13, 0, tzinfo=PARIS)  # Sunday, one hour after


def subscription_create(
    *,
    price: str = "60.00",
    customer_id: str = "cus_test",
    payment_method_id: str = "pm_test",
    quantity: int = 1,
    starts_on: date = date(2026, 12, 1),
    district=None,
    variant=None,
    **fields,
) -> BasketSubscription:
    CountryFactory(iso_3166_1_a2="FR", printable_name="France", name="France")
    district = district or paris_13e()
    variant = variant or make_variant(components={make_grocery(): 2}, price=price)
    user = UserFactory()
    return BasketSubscription.objects.create(
        user=user,
        variant=variant,
        quantity=quantity,
        first_name="Léa",
        last_name="Martin",
        line1="12 rue de Tolbiac",
        line4="Paris",
        postcode="75013",
        country_id="FR",
        district=district,
        starts_on=starts_on,
        stripe_customer_id=customer_id,
        stripe_payment_method_id=payment_method_id,
        **fields,
    )
