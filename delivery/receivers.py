"""Booking the delivery when Oscar places an order."""

from __future__ import annotations

from django.dispatch import receiver
from oscar.apps.order.exceptions import UnableToPlaceOrder
from oscar.apps.order.signals import order_placed

from delivery.services.booking import DeliveryFullError, order_delivery_book


@receiver(order_placed, dispatch_uid="delivery_book_on_order_placed")
def book_delivery_on_order_placed(sender, order, user=None, **kwargs) -> None:
    # Runs inside the checkout request's transaction (ATOMIC_REQUESTS): the order, its booking
    # and its OrderDelivery commit together or not at all.
    try:
        order_delivery_book(order_id=order.pk)
    except DeliveryFullError as exc:
        # Oscar's checkout turns this into a message on the preview page.
        raise UnableToPlaceOrder(str(exc)) from exc
