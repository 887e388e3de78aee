"""A small shop with one real row of every model the admin shows, and a user per role: what the
permission matrix opens, and what the IDOR and export tests point at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db.models import Model
from django.utils import timezone
from oscar.test import factories as oscar

from essentiels.roles import BACK_OFFICE_GROUP, CUSTOMER_CARE_GROUP, OPS_GROUP, roles_sync

TUESDAY = date(2031, 3, 4)
ROLES = ("anonymous", "shopper", "back_office", "ops", "care", "superuser")


@dataclass
class World:
    users: dict[str, object]
    order: Model
    subscription: Model
    renewal: Model
    plan: Model
    objects: dict[str, Model] = field(default_factory=dict)


def _staff(username: str, group: str | None = None, **extra):
    user = oscar.UserFactory(username=username, email=f"{username}@example.org", **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def users_per_role() -> dict[str, object]:
    roles_sync()
    return {
        "anonymous": None,
        "shopper": _staff("shopper"),
        "back_office": _staff("back_office", BACK_OFFICE_GROUP, is_staff=True),
        "ops": _staff("ops", OPS_GROUP, is_staff=True),
        "care": _staff("care", CUSTOMER_CARE_GROUP, is_staff=True),
        "superuser": _staff("superuser", is_staff=True, is_superuser=True),
    }


def world_build() -> World:  # noqa: PLR0915 — one row of each model, written out
    from django.apps import apps
    from django.contrib.flatpages.models import FlatPage
    from django.contrib.sites.models import Site
    from oscar.apps.analytics.models import (
        ProductRecord,
        UserProductView,
        UserRecord,
        UserSearch,
    )
    from oscar.apps.basket.models import LineAttribute as CartLineAttribute
    from oscar.apps.catalogue.models import Option, ProductClass
    from oscar.apps.catalogue.reviews.models import Vote
    from oscar.apps.communication.models import CommunicationEventType, Email, Notification
    from oscar.apps.order.models import (
        CommunicationEvent,
        LineAttribute,
        LinePrice,
        OrderNote,
        OrderStatusChange,
        PaymentEvent,
        PaymentEventType,
        Surcharge,
    )
    from oscar.apps.payment.models import Bankcard
    from oscar.apps.shipping.models import OrderAndItemCharges
    from oscar.apps.voucher.models import VoucherApplication
    from oscar.apps.wishlists.models import Line as WishListLine
    from oscar.apps.wishlists.models import WishListSharedEmail

    from baskets.models import RenewalStatus, SubscriptionRenewal
    from delivery.models import DeliveryMove, Weekday
    from delivery.routing.models import ManifestExport
    from delivery.routing.services.planning import route_plan
    from payments.models import StripeCustomer, StripeEvent, StripeOperation
    from supply.models import (
        ComponentDemand,
        ComponentSubstitution,
        SupplyCommitment,
        SupplyWaitlistEntry,
        VariantSupplyCap,
    )
    from tests.baskets.conftest import make_grocery
    from tests.baskets.subscription_factories import subscription_create
    from tests.delivery.factories import ClosedDateFactory, WaitlistEntryFactory
    from tests.delivery.routing_factories import BusFactory, DepotFactory, order_at
    from waitingroom.models import (
        PriorityCode,
        PriorityShopper,
        WaitingRoomSettings,
        WaitingRoomSettingsChange,
    )

    users = users_per_role()
    shopper = users["shopper"]
    now = timezone.now()

    # Baskets, a subscription, its district (Paris 13e, Tuesdays), a route plan for a Tuesday.
    subscription = subscription_create()
    subscription.user = shopper
    subscription.save(update_fields=["user"])
    district = subscription.district
    variant = subscription.variant
    grocery = variant.components.first().product
    DepotFactory()
    BusFactory(weekdays=[Weekday.TUESDAY])
    delivery = order_at(district, day=TUESDAY, line1="12 rue de Tolbiac", email=shopper.email)
    order = delivery.order
    order.user = shopper
    order.save(update_fields=["user"])
    plan = route_plan(delivery_date=TUESDAY, seconds=0.2).plan
    ManifestExport.objects.create(
        user=users["ops"], delivery_date=TUESDAY, plan=plan, kind="route", file_format="csv"
    )
    DeliveryMove.objects.create(
        order_delivery=delivery,
        from_date=TUESDAY,
        to_date=TUESDAY + timedelta(days=7),
        reason=DeliveryMove.Reason.choices[0][0],
    )
    ClosedDateFactory(district=district, date=TUESDAY + timedelta(days=14))
    WaitlistEntryFactory()

    renewal_order = oscar.create_order(user=shopper)
    renewal = SubscriptionRenewal.objects.create(
        subscription=subscription,
        delivery_date=TUESDAY,
        order=renewal_order,
        status=RenewalStatus.DECLINED,
        attempts=1,
    )

    # Supply.
    monday = TUESDAY - timedelta(days=1)
    SupplyCommitment.objects.create(product=grocery, week=monday, quantity=5)
    VariantSupplyCap.objects.create(variant=variant, max_subscriptions=10)
    ComponentSubstitution.objects.create(
        product=grocery, substitute=make_grocery(), delivery_date=TUESDAY
    )
    SupplyWaitlistEntry.objects.create(variant=variant, email="attente@example.org")
    ComponentDemand.objects.create(
        product=grocery, delivery_date=TUESDAY, week=monday, from_subscriptions=1
    )

    # Waiting room.
    WaitingRoomSettings.objects.update_or_create(
        pk=1,
        defaults={"enabled": False, "admit_per_minute": 60, "max_active": 100, "idle_minutes": 20},
    )
    WaitingRoomSettingsChange.objects.create(changed_by=users["ops"], before={}, after={})
    PriorityShopper.objects.create(user=oscar.UserFactory(), created_by=users["care"])
    PriorityCode.objects.create(
        label="CCAS", code_hash="0" * 64, hint="ABCD", max_uses=3, expires_at=now + timedelta(1)
    )

    # Payments.
    StripeCustomer.objects.create(user=shopper, email=shopper.email, customer_id="cus_world")
    StripeEvent.objects.create(event_id="evt_world", type="charge.refunded", payload={})
    StripeOperation.objects.create(
        idempotency_key="world-1", kind=StripeOperation.Kind.CUSTOMER, order_number=order.number
    )

    # Login throttling (django-axes).
    if apps.is_installed("axes"):
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        attempt = {"username": "x@example.org", "ip_address": "127.0.0.9", "user_agent": "test"}
        AccessAttempt.objects.create(**attempt, failures_since_start=1, get_data="", post_data="")
        AccessLog.objects.create(**attempt)
        AccessFailureLog.objects.create(**attempt)

    # Oscar's own models.
    product = order.lines.first().product
    oscar.UserAddressFactory(user=shopper, country=order.shipping_address.country)
    ProductRecord.objects.get_or_create(product=product)
    UserRecord.objects.get_or_create(user=shopper)
    UserSearch.objects.create(user=shopper, query="riz")
    UserProductView.objects.create(user=shopper, product=product)
    cart = oscar.create_basket()
    CartLineAttribute.objects.create(
        line=cart.lines.first(), option=Option.objects.first() or oscar.OptionFactory(), value="x"
    )
    oscar.AttributeOptionGroupFactory()
    category = oscar.CategoryFactory()
    oscar.ProductCategoryFactory(product=product, category=category)
    oscar.ProductAttributeValueFactory(
        attribute=oscar.ProductAttributeFactory(product_class=ProductClass.objects.first()),
        product=product,
    )
    oscar.ProductImageFactory(product=product)
    if not CommunicationEventType.objects.exists():
        CommunicationEventType.objects.create(code="WORLD", name="World")
    Email.objects.create(user=shopper, subject="s", body_text="b", email=shopper.email)
    Notification.objects.create(recipient=shopper, subject="s")
    oscar.ProductAlertFactory(user=shopper, product=product)
    FlatPage.objects.create(url="/a-propos/", title="À propos").sites.add(Site.objects.first())
    oscar.ConditionalOfferFactory()
    line = order.lines.first()
    OrderNote.objects.create(order=order, user=users["care"], message="note")
    OrderStatusChange.objects.create(order=order, old_status="Nouvelle", new_status="Annulée")
    payment_type, _created = PaymentEventType.objects.get_or_create(name="Paid")
    PaymentEvent.objects.create(order=order, event_type=payment_type, amount=Decimal("1.00"))
    oscar.ShippingEventFactory(order=order)
    CommunicationEvent.objects.create(
        order=order, event_type=CommunicationEventType.objects.first()
    )
    LineAttribute.objects.create(line=line, type="frequency", value="weekly")
    LinePrice.objects.create(
        order=order, line=line, quantity=1, price_incl_tax=Decimal("10"), price_excl_tax=10
    )
    oscar.OrderDiscountFactory(order=order)
    Surcharge.objects.create(
        order=order, name="Frais", code="frais", incl_tax=Decimal("1"), excl_tax=Decimal("1")
    )
    if order.billing_address is None:
        order.billing_address = oscar.BillingAddressFactory()
        order.save(update_fields=["billing_address"])
    source = oscar.SourceFactory(order=order)
    oscar.TransactionFactory(source=source)
    Bankcard.objects.create(
        user=shopper,
        card_type="Visa",
        name="Léa",
        number="XXXX-XXXX-XXXX-4242",
        expiry_date=date(2030, 12, 1),
    )
    review = oscar.ProductReviewFactory(product=product, user=shopper)
    Vote.objects.create(review=review, user=users["care"], delta=1)
    oscar.create_shipping_weight_band(Decimal("10"), Decimal("5"))
    OrderAndItemCharges.objects.create(code="world", name="World")
    voucher = oscar.VoucherFactory()
    voucher_set = oscar.VoucherSetFactory()
    VoucherApplication.objects.create(voucher=voucher, user=shopper, order=order)
    wishlist = oscar.WishListFactory(owner=shopper)
    WishListLine.objects.create(wishlist=wishlist, product=product, title=product.title)
    WishListSharedEmail.objects.create(wishlist=wishlist, email="ami@example.org")

    # Marketing consent (the privacy app).
    if apps.is_installed("privacy"):
        from privacy.models import Consent, ConsentPurpose, ConsentSource

        Consent.objects.create(
            user=shopper,
            purpose=ConsentPurpose.choices[0][0],
            wording="J'accepte",
            language="fr",
            source=ConsentSource.choices[0][0],
            given_at=now,
        )

    world = World(users=users, order=order, subscription=subscription, renewal=renewal, plan=plan)
    for model in admin.site._registry:
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            world.objects[model._meta.label_lower] = row
    world.objects["auth.user"] = shopper
    world.objects["voucher.voucherset"] = voucher_set  # not in the admin, in the dashboard
    world.objects["order.order"] = order
    return world


def admin_models_without_rows(world: World) -> list[str]:
    return sorted(
        model._meta.label_lower
        for model in admin.site._registry
        if model._meta.label_lower not in world.objects
    )
