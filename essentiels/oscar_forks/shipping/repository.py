from oscar.apps.shipping import repository

from delivery.shipping import shipping_methods_for


class Repository(repository.Repository):
    """One fixed-day delivery for the address's district (delivery.shipping), none elsewhere."""

    def get_available_shipping_methods(self, basket, shipping_addr=None, **kwargs):
        return shipping_methods_for(
            cart=basket, shipping_addr=shipping_addr, request=kwargs.get("request")
        )
