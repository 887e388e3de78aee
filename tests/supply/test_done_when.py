"""Issue [Supply], "Done when", end to end: raising subscriptions beyond a component's committed
supply caps the basket before any order goes short; the supply page shows a shortfall with the
baskets it affects; a substitution reaches the affected orders and the shopper's order page."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import transaction
from oscar.test.factories import UserFactory

from baskets.services.renewal import _renewal_order_ensure
from delivery.calendar import PARIS
from essentiels.roles import BACK_OFFICE_GROUP, roles_sync
from supply.models import OrderLineSubstitution, SupplyCommitment, SupplyReservation
from supply.selectors import supply_overview
from supply.services.sales import SupplyRefused, order_supply_reserve
from supply.tasks import supply_forecast_refresh_task
from tests.baskets.conftest import make_grocery, make_variant
from tests.baskets.subscription_factories import BEFORE_CUTOFF, DELIVERY, subscription_create
from tests.baskets.test_storefront import basket_url, page_text
from tests.delivery.factories import paris_13e
from tests.supply.factories import order_placed_create, stock_set

pytestmark = pytest.mark.django_db
WEEKS = [date(2026, 12, 7), date(2026, 12, 14), date(2026, 12, 21)]
RENEWAL_DAY = date(2026, 12, 15)
AT_RENEWAL = datetime(2026, 12, 13, 13, 0, tzinfo=PARIS)  # just after the 15th's cutoff


def subscribe(variant, district):
    """A checkout that starts a weekly subscription: its first order on 8 December, renewals
    from the 15th, reserved at the point of sale (what the checkout's subscribe hook calls)."""
    subscription = subscription_create(variant=variant, district=district, starts_on=RENEWAL_DAY)
    first = order_placed_create(
        variant=variant,
        quantity=1,
        district=district,
        delivery_date=DELIVERY,
        user=subscription.user,
    )
    order_supply_reserve(order=first, subscriptions=[subscription])
    supply_forecast_refresh_task.run()  # the debounced refresh the change scheduled
    return subscription


def checkout_refused(variant, district) -> None:
    """A fourth shopper's checkout: in one transaction, rolled back when supply refuses."""
    with transaction.atomic():
        subscription = subscription_create(
            variant=variant, district=district, starts_on=RENEWAL_DAY
        )
        order = order_placed_create(
            variant=variant, quantity=1, district=district, delivery_date=DELIVERY
        )
        order_supply_reserve(order=order, subscriptions=[subscription])


def test_supply_is_secured_capped_watched_and_substituted_end_to_end(client):
    roles_sync()
    buyer = UserFactory(is_staff=True)
    buyer.groups.add(Group.objects.get(name=BACK_OFFICE_GROUP))
    rice, pasta, semolina = make_grocery("Riz"), make_grocery("Pâtes"), make_grocery("Semoule")
    stock_set(rice, 0)
    variant = make_variant(components={rice: 2, pasta: 1})
    district = paris_13e()
    with time_machine.travel(BEFORE_CUTOFF, tick=False):
        # given suppliers committed 6 rice a week: room for 3 weekly baskets
        client.force_login(buyer)
        for week in WEEKS:
            response = client.post(
                "/admin/supply/supplycommitment/add/",
                {"product": rice.pk, "week": week.isoformat(), "quantity": "6", "note": ""},
            )
            assert response.status_code == 302
        # when three shoppers subscribe, the third takes the last rice
        subscribers = [subscribe(variant, district) for _ in range(3)]
        # then the basket is capped for new subscribers, and no week is short
        variant.supply_cap.refresh_from_db()
        assert variant.supply_cap.auto_capped
        assert not any(week.short_rows for week in supply_overview())
        # a fourth shopper is refused at checkout, nothing reserved, and the basket page says so
        with pytest.raises(SupplyRefused):
            checkout_refused(variant, district)
        assert [
            SupplyReservation.objects.get(product=rice, week=week).reserved for week in WEEKS
        ] == [6, 6, 6]
        html = client.get(basket_url(variant.themed_basket)).content.decode()
        assert "liste-attente" in html
        # when a supplier cuts the week of 14 December to 4 rice
        commitment = SupplyCommitment.objects.get(product=rice, week=WEEKS[1])
        client.post(
            f"/admin/supply/supplycommitment/{commitment.pk}/change/",
            {"product": rice.pk, "week": "2026-12-14", "quantity": "4", "note": "grève"},
        )
        supply_forecast_refresh_task.run()
        # then the supply page shows rice 2 short that week, with the basket and its Tuesday
        response = client.get("/admin/supply/supplycommitment/page/?short=1")
        week = next(w for w in response.context["weeks"] if w.week == WEEKS[1])
        (row,) = week.short_rows
        assert (row.product_id, row.reserved, row.committed, row.shortfall) == (rice.pk, 6, 4, 2)
        assert [(a.variant_id, a.dates) for a in row.affected] == [(variant.pk, (RENEWAL_DAY,))]
        assert "15/12" in response.content.decode()
        # when the buyer declares semolina instead of rice for the 15th
        response = client.post(
            "/admin/supply/componentsubstitution/add/",
            {
                "product": rice.pk,
                "substitute": semolina.pk,
                "delivery_date": "2026-12-15",
                "reason": "grève",
            },
        )
        assert response.status_code == 302
    with time_machine.travel(AT_RENEWAL, tick=False):
        # and at the 15th's cutoff the subscriptions renew (orders placed), then the refresh runs
        renewals = [
            _renewal_order_ensure(subscription_id=s.pk, delivery_date=RENEWAL_DAY, now=AT_RENEWAL)
            for s in subscribers
        ]
        assert all(renewal.order_id for renewal in renewals)
        supply_forecast_refresh_task.run()
        # then every order of the 15th carries the substitution, none of the 8th does
        reached = OrderLineSubstitution.objects.filter(substitution__delivery_date=RENEWAL_DAY)
        assert sorted(reached.values_list("line__order_id", flat=True)) == sorted(
            renewal.order_id for renewal in renewals
        )
        assert not OrderLineSubstitution.objects.filter(
            line__order__delivery__delivery_date=DELIVERY
        ).exists()
        # and the week is no longer short: the rice demand moved to semolina
        week = next(w for w in supply_overview() if w.week == WEEKS[1])
        assert not week.short_rows
        # and the shopper sees it on their order page
        client.force_login(subscribers[0].user)
        order = renewals[0].order
        text = page_text(client.get(f"/accounts/orders/{order.number}/"))
        assert "Remplacement : Semoule au lieu de Riz (2 par panier)" in text
