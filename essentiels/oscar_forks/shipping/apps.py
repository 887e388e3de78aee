import oscar.apps.shipping.apps as apps


class ShippingConfig(apps.ShippingConfig):
    """Oscar's shipping app, forked for its Repository: one fixed-day delivery per district."""

    name = "essentiels.oscar_forks.shipping"
