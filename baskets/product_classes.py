"""The two Oscar product classes the shop is built on (slugs are stable identifiers)."""

# A grocery product: a component of baskets, with a cost price on its stock record.
GROCERY_CLASS_SLUG = "produit-epicerie"
# A themed basket: a parent product whose children are its household sizes (variants).
BASKET_CLASS_SLUG = "panier"
