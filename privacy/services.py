"""Writes about a shopper's personal data: consents given and withdrawn, and closing an account.

**Closing an account** (``account_close``) keeps what the accounts need and nothing that names
the shopper:

* kept: the orders (number, date, status, totals, lines, payments, delivery date), subscriptions
  (cancelled), consents (withdrawn: the record of what was agreed and when);
* anonymised: the account itself (name, email, username; disabled, no usable password — which
  ends every session it had, on every device), the shipping and billing addresses of its orders
  and the addresses of its subscriptions (names, street, phone and instructions; postcode, city
  and country stay for the accounts), the text of emails sent about its subscriptions, and the
  route stops that served only its orders (street and address key erased, coordinates rounded to
  about a kilometre, in the stop-move history too; postcode and city stay). A stop that also
  served a neighbour or a guest keeps the building's address: it is theirs too;
* deleted: the address book, wishlists, product alerts, notifications and email history, browsing
  records, waiting-list entries (delivery and baskets), failed-login records, the priority lane
  entry, the geocoding cache's entries for addresses nobody else uses, and the saved cards — the
  Stripe Customer is deleted at Stripe (which detaches its cards) and here.

It is refused while a delivery is still to come (an order booked for today or later, or a weekly
delivery already fixed by its cutoff): the order needs the address and the card. The shopper is
told the date; cancelling the subscription first stops the weeks after it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from decimal import Decimal

import stripe
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from privacy.models import Consent, ConsentPurpose, ConsentSource
from privacy.selectors import consent_active

logger = logging.getLogger("privacy")


# --- Consents -----------------------------------------------------------------------------------


@transaction.atomic
def consent_give(
    *,
    user_id: int,
    purpose: str,
    wording: str,
    language: str,
    source: str,
    now: datetime | None = None,
) -> Consent:
    """Record a consent as given now with the exact ``wording`` shown. Idempotent: an active
    consent for the purpose is returned as it is (its first wording and date kept)."""
    # The user's row serialises two tabs giving the same consent at once.
    get_user_model().objects.select_for_update().filter(pk=user_id).first()
    active = consent_active(user_id=user_id, purpose=purpose)
    if active is not None:
        return active
    return Consent.objects.create(
        user_id=user_id,
        purpose=ConsentPurpose(purpose),
        wording=wording,
        language=language[:8],
        source=ConsentSource(source),
        given_at=now or timezone.now(),
    )


def consent_withdraw(
    *, user_id: int, purpose: str, source: str, now: datetime | None = None
) -> int:
    """Withdraw the active consent for ``purpose`` (none: nothing to do). Returns rows changed."""
    return Consent.objects.filter(user_id=user_id, purpose=purpose, withdrawn_at=None).update(
        withdrawn_at=now or timezone.now(), withdrawn_source=ConsentSource(source)
    )


# --- Closing an account -----------------------------------------------------------------------


class AccountClosureError(Exception):
    """The account cannot be closed now; ``messages`` say why, translated."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


def _date(day) -> str:
    return formats.date_format(day, "l j F Y")


def account_closure_blockers(*, user_id: int, now: datetime | None = None) -> list[str]:
    """Why the account cannot be closed now (empty: it can)."""
    from baskets.models import BasketSubscription, SubscriptionStatus
    from baskets.services.subscriptions import subscription_fixed_delivery
    from delivery.calendar import local_today
    from delivery.models import OrderDelivery

    now = now or timezone.now()
    user = get_user_model().objects.get(pk=user_id)
    if user.is_staff or user.is_superuser:
        return [_("A staff account is closed by an administrator.")]
    blockers = []
    upcoming = (
        OrderDelivery.objects.filter(
            order__user_id=user_id,
            status=OrderDelivery.Status.BOOKED,
            delivery_date__gte=local_today(now=now),
        )
        .exclude(order__status__in=settings.DELIVERY_RELEASE_ORDER_STATUSES)
        .select_related("order")
    )
    for delivery in upcoming:
        blockers.append(
            _("Your order %(number)s is still to be delivered on %(date)s.")
            % {"number": delivery.order.number, "date": _date(delivery.delivery_date)}
        )
    booked_dates = {delivery.delivery_date for delivery in upcoming}
    for subscription in BasketSubscription.objects.filter(user_id=user_id):
        if subscription.status == SubscriptionStatus.CANCELLED:
            fixed = _fixed_when_cancelled(subscription=subscription, now=now)
        else:
            fixed = subscription_fixed_delivery(subscription=subscription, now=now)
        if fixed is not None and fixed not in booked_dates:
            blockers.append(
                _(
                    "The delivery of %(date)s of your subscription is already fixed (its order "
                    "closed): it will still come and be charged."
                )
                % {"date": _date(fixed)}
            )
    return blockers


def _fixed_when_cancelled(*, subscription, now: datetime):
    """The delivery a cancellation made after its cutoff still leaves to come (renewed and
    charged as usual), if it is today or later and not given up since."""
    from baskets.models import RenewalStatus
    from baskets.services.subscriptions import _fixed_by_calendar
    from delivery.calendar import local_today

    if subscription.cancelled_at is None:
        return None
    day = _fixed_by_calendar(subscription=subscription, now=subscription.cancelled_at)
    if day is None or day < local_today(now=now):
        return None
    given_up = (RenewalStatus.FAILED, RenewalStatus.CANCELLED)
    if subscription.renewals.filter(delivery_date=day, status__in=given_up).exists():
        return None
    return day


def _stripe_customers_delete(*, user_id: int) -> None:
    """Delete the shopper's Stripe Customer(s) at Stripe, which detaches every saved card.
    Already deleted (a retried closure) counts as done."""
    from payments.models import StripeCustomer
    from payments.stripe_client import stripe_client

    for customer_id in StripeCustomer.objects.filter(user_id=user_id).values_list(
        "customer_id", flat=True
    ):
        try:
            stripe_client().v1.customers.delete(customer_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status != 404:
                raise
        logger.info("account %s closed: Stripe customer %s deleted", user_id, customer_id)


# Postcode, city (line4) and country stay: the accounts (and VAT) need where a sale was made.
_ADDRESS_BLANKS = {
    "title": "",
    "first_name": "",
    "last_name": "",
    "line1": "",
    "line2": "",
    "line3": "",
    "state": "",
    "search_text": "",
}


def account_close(*, user_id: int, now: datetime | None = None) -> None:
    """Close the shopper's account (see the module docstring). Raises AccountClosureError when
    a delivery is still to come, and Stripe's errors when Stripe cannot be reached (nothing is
    anonymised then: the shopper tries again). Safe to run again after a failure."""
    from baskets.models import BasketSubscription, SubscriptionStatus
    from baskets.services.subscriptions import subscription_cancel

    now = now or timezone.now()
    blockers = account_closure_blockers(user_id=user_id, now=now)
    if blockers:
        raise AccountClosureError(blockers)
    # 1. Subscriptions, each in its own transaction: the shopper gets the usual cancellation
    # email (sent on commit, while the account still has its address).
    for subscription_id in (
        BasketSubscription.objects.filter(user_id=user_id)
        .exclude(status=SubscriptionStatus.CANCELLED)
        .values_list("pk", flat=True)
    ):
        subscription_cancel(subscription_id=subscription_id, reason=_("Account closed"), now=now)
    # 2. The saved cards, at Stripe, before anything here changes.
    _stripe_customers_delete(user_id=user_id)
    # 3. Everything here, at once.
    _anonymise(user_id=user_id, now=now)


# About a kilometre: the stop stays on the map of its district, not at a door.
_STOP_COORDINATES_KEPT = Decimal("0.01")


def _route_stops_anonymise(*, stop_ids: list[int]) -> None:
    """Erase the street of stops that served only a closed account (``route_stops_only_for``),
    and from the history of ops' moves of those stops."""
    from delivery.routing.models import RouteStop, RouteStopMove

    stops = list(RouteStop.objects.filter(pk__in=stop_ids).select_related("route"))
    moves = Q(pk__in=[])
    for stop in stops:
        if stop.address:
            moves |= Q(plan_id=stop.route.plan_id, address=stop.address)
        stop.address = ""
        stop.address_key = ""
        stop.latitude = stop.latitude.quantize(_STOP_COORDINATES_KEPT)
        stop.longitude = stop.longitude.quantize(_STOP_COORDINATES_KEPT)
    RouteStopMove.objects.filter(moves).update(address="")
    RouteStop.objects.bulk_update(stops, ["address", "address_key", "latitude", "longitude"])


@transaction.atomic
def _anonymise(*, user_id: int, now: datetime) -> None:
    from axes.models import AccessAttempt
    from oscar.apps.address.models import UserAddress
    from oscar.apps.analytics.models import UserProductView, UserRecord, UserSearch
    from oscar.apps.catalogue.reviews.models import ProductReview, Vote
    from oscar.apps.communication.models import Email, Notification
    from oscar.apps.customer.models import ProductAlert
    from oscar.apps.order.models import BillingAddress, Order, ShippingAddress
    from oscar.apps.wishlists.models import WishList

    from baskets.models import BasketSubscription, SubscriptionMessage
    from delivery.models import WaitlistEntry
    from delivery.routing.models import AddressLocation
    from delivery.routing.selectors import address_locations_only_for, route_stops_only_for
    from payments.models import StripeCustomer, StripeOperation
    from supply.models import SupplyWaitlistEntry
    from waitingroom.models import PriorityShopper

    user = get_user_model().objects.select_for_update().get(pk=user_id)
    names = {name.strip().lower() for name in (user.email, user.get_username()) if name}
    # Read while the shopper's addresses are still there to compare with other people's.
    stop_ids = list(route_stops_only_for(user_id=user_id).values_list("pk", flat=True))
    location_ids = list(address_locations_only_for(user_id=user_id).values_list("pk", flat=True))
    email = user.email
    # Rows keyed by the account or, for forms that took an email (guests), by its address.
    mine = Q(user_id=user_id) | (Q(email__iexact=email) if email else Q(pk__in=[]))

    # Orders stay, without anyone's name or street on them.
    orders = Order.objects.filter(user_id=user_id)
    ShippingAddress.objects.filter(order__in=orders).update(
        **_ADDRESS_BLANKS, phone_number="", notes=""
    )
    BillingAddress.objects.filter(order__in=orders).update(**_ADDRESS_BLANKS)
    orders.exclude(guest_email="").update(guest_email="")
    # Their buses' stops: the postcode and city stay for delivery statistics.
    _route_stops_anonymise(stop_ids=stop_ids)
    AddressLocation.objects.filter(pk__in=location_ids).delete()

    subscriptions = BasketSubscription.objects.filter(user_id=user_id)
    subscriptions.update(
        first_name="",
        last_name="",
        line1="",
        line2="",
        phone_number="",
        notes="",
        stripe_customer_id="",
        stripe_payment_method_id="",
    )
    # Emails about them: their text held names and addresses; one never sent is dropped.
    messages = SubscriptionMessage.objects.filter(subscription__in=subscriptions)
    messages.filter(sent_at=None).update(sent_at=now)
    messages.update(body="", html="")

    UserAddress.objects.filter(user_id=user_id).delete()
    WishList.objects.filter(owner_id=user_id).delete()
    ProductAlert.objects.filter(mine).delete()
    Notification.objects.filter(recipient_id=user_id).delete()
    Email.objects.filter(user_id=user_id).delete()
    UserRecord.objects.filter(user_id=user_id).delete()
    UserProductView.objects.filter(user_id=user_id).delete()
    UserSearch.objects.filter(user_id=user_id).delete()
    Vote.objects.filter(user_id=user_id).delete()
    ProductReview.objects.filter(user_id=user_id).update(user=None, name="", email="", homepage="")

    if email:
        WaitlistEntry.objects.filter(email__iexact=email).delete()
    SupplyWaitlistEntry.objects.filter(mine).delete()

    customer_ids = list(
        StripeCustomer.objects.filter(user_id=user_id).values_list("customer_id", flat=True)
    )
    StripeOperation.objects.filter(
        kind=StripeOperation.Kind.CUSTOMER, stripe_id__in=customer_ids
    ).update(request={"user_id": user_id})
    StripeCustomer.objects.filter(user_id=user_id).delete()

    AccessAttempt.objects.filter(username__in=names).delete()
    # The waiting room's priority lane names vulnerable shoppers.
    PriorityShopper.objects.filter(user_id=user_id).delete()

    consent_withdraw(
        user_id=user_id,
        purpose=ConsentPurpose.MARKETING_EMAIL,
        source=ConsentSource.CLOSURE,
        now=now,
    )

    user.username = f"ferme-{uuid.uuid4().hex[:20]}"
    user.email = ""
    user.first_name = ""
    user.last_name = ""
    user.is_active = False
    user.is_staff = False
    # A new password hash: every session of this account fails Django's check on its next
    # request and is flushed, on every device.
    user.set_unusable_password()
    user.save()
    logger.info("account %s closed and anonymised", user_id)
