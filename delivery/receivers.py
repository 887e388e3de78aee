"""Booking the delivery when Oscar places an order; releasing it when the order is cancelled."""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver
from oscar.apps.order.exceptions import UnableToPlaceOrder
from oscar.apps.order.signals import order_placed, order_status_changed

from delivery.models import OrderDelivery
from delivery.services.booking import (
    DeliveryFullError,
    order_delivery_book,
    order_delivery_release,
)


@receiver(order_placed, dispatch_uid="delivery_book_on_order_placed")
def book_delivery_on_order_placed(sender, order, user=None, **kwargs) -> None:
    # Runs inside the checkout request's transaction (ATOMIC_REQUESTS): the order, its booking
    # and its OrderDelivery commit together or not at all.
    try:
        order_delivery_book(order_id=order.pk)
    except DeliveryFullError as exc:
        # Oscar's checkout turns this into a message on the preview page.
        raise UnableToPlaceOrder(str(exc)) from exc


@receiver(order_status_changed, dispatch_uid="delivery_release_on_order_cancelled")
def release_delivery_on_order_cancelled(sender, order, old_status, new_status, **kwargs) -> None:
    # A cancelled order gives its places back (DELIVERY_RELEASE_ORDER_STATUSES).
    if new_status not in settings.DELIVERY_RELEASE_ORDER_STATUSES:
        return
    delivery = OrderDelivery.objects.filter(order_id=order.pk).only("pk").first()
    if delivery is not None:
        order_delivery_release(order_delivery_id=delivery.pk)
