"""Oscar's checkout views, with order placement made atomic.

Stock Oscar writes the order, then sends ``order_placed`` (which books the delivery date); when a
receiver refuses (the district is full on every date), Oscar shows the error but the order row it
already wrote stays, and the request's transaction commits it. Here the order, its lines, its
booking and the cart's submission commit together or not at all.
"""

from django.db import transaction
from oscar.apps.checkout import views


class PaymentDetailsView(views.PaymentDetailsView):
    def handle_order_placement(
        self,
        order_number,
        user,
        basket,
        shipping_address,
        shipping_method,
        shipping_charge,
        billing_address,
        order_total,
        surcharges=None,
        **kwargs,
    ):
        with transaction.atomic():
            order = self.place_order(
                order_number=order_number,
                user=user,
                basket=basket,
                shipping_address=shipping_address,
                shipping_method=shipping_method,
                shipping_charge=shipping_charge,
                order_total=order_total,
                billing_address=billing_address,
                surcharges=surcharges,
                **kwargs,
            )
            basket.submit()
        return self.handle_successful_order(order)
