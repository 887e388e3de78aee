"""The shop's pricing and availability policy (Oscar's extension point for it).

Prices are shelf prices including VAT, as stock records hold them (``NoTax``). Availability adds
two rules to Oscar's default: grocery components are sold only inside baskets, and a product that
is not public (a basket variant withdrawn because it broke a rule, say) cannot be bought.
"""

from django.utils.translation import gettext_lazy as _
from oscar.apps.partner import availability, strategy

from baskets.product_classes import GROCERY_CLASS_SLUG


class SoldInBasketsOnly(availability.Unavailable):
    message = _("Sold only in our baskets")


class NotOnSale(availability.Unavailable):
    message = _("Not on sale at the moment")


class EssentielsStrategy(
    strategy.UseFirstStockRecord, strategy.StockRequired, strategy.NoTax, strategy.Structured
):
    def availability_policy(self, product, stockrecord):
        if not product.is_public:
            return NotOnSale()
        if product.product_class_id and product.get_product_class().slug == GROCERY_CLASS_SLUG:
            return SoldInBasketsOnly()
        return super().availability_policy(product, stockrecord)


class Selector:
    def strategy(self, request=None, user=None, **kwargs):
        return EssentielsStrategy(request)
