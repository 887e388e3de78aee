"""Oscar's defaults, then the shop's own Oscar settings."""

from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from oscar.defaults import *  # noqa: F403

OSCAR_SHOP_NAME = "Les Essentiels"
OSCAR_SHOP_TAGLINE = _("Your weekly essentials, delivered")
OSCAR_DEFAULT_CURRENCY = "EUR"
OSCAR_PRODUCTS_PER_PAGE = 24
# The shop's home is the basket list; Oscar's "/" redirects there (the catalogue stays at
# /catalogue/). Lazy, so /en/ leads to /en/paniers/.
OSCAR_HOMEPAGE = reverse_lazy("baskets:list")
OSCAR_FROM_EMAIL = "bonjour@essentiels.localhost"
# Guests may check out; subscriptions (later) will ask for an account.
OSCAR_ALLOW_ANON_CHECKOUT = True
# Oscar's order number derives from the cart id; [Payments] replaces the order placement.
OSCAR_REQUIRED_ADDRESS_FIELDS = ("first_name", "last_name", "line1", "line4", "postcode", "country")

# Haystack stays installed because Oscar's search app imports it. The catalogue and category
# pages do not use it (the "simple" backend lists no products there: django-oscar #4366);
# the search box uses the simple backend, which does a database LIKE search.
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.BaseSignalProcessor"

# Order statuses (Oscar's dashboard offers the next ones). An order exists once its payment is
# authorised; "Annulée" gives its delivery places back (DELIVERY_RELEASE_ORDER_STATUSES).
OSCAR_INITIAL_ORDER_STATUS = "Nouvelle"
OSCAR_ORDER_STATUS_PIPELINE = {
    "Nouvelle": ("En préparation", "Annulée"),
    "En préparation": ("Livrée", "Annulée"),
    "Livrée": (),
    "Annulée": (),
}
OSCAR_ORDER_STATUS_CASCADE = {
    "En préparation": "En préparation",
    "Livrée": "Livrée",
    "Annulée": "Annulée",
}
OSCAR_INITIAL_LINE_STATUS = "Nouvelle"
OSCAR_LINE_STATUS_PIPELINE = OSCAR_ORDER_STATUS_PIPELINE
