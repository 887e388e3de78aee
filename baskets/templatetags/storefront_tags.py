"""Tags of the storefront's busiest pages, the basket list and basket pages (bench/bench_pages.py
measures them):

- ``{% storefront_hole "kind" "template.html" %}``: a part of a cached page that belongs to the
  visitor; kind is ``account``, ``cart`` or ``messages`` (baskets.page_cache);
- ``{% basket_cards cards %}``: the list's cards; ``{% diet_badges diets %}``: a basket's diets;
- ``{% storefront_cart as cart %}``: the visitor's cart, for the mini-cart;
- ``{% menu_categories as categories %}``: the navigation bar's aisles.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext
from oscar.templatetags.currency_filters import currency

from baskets.page_cache import ACCOUNT, CART, MESSAGES, hole_marker
from baskets.storefront import BasketCard, DietBadge, menu_categories

register = template.Library()


@register.simple_tag(takes_context=True)
def storefront_hole(context, kind: str, template_name: str) -> SafeString:
    """Include ``template_name`` here, as ``{% include %}`` does; or, when the page is rendered for
    the cache (``storefront_shell`` in the context), leave a marker that ``baskets.page_cache``
    replaces with that template rendered for each visitor who has a part of that kind."""
    if kind not in {ACCOUNT, CART, MESSAGES}:
        raise template.TemplateSyntaxError(f"storefront_hole: unknown kind {kind!r}")
    if context.get("storefront_shell"):
        return mark_safe(hole_marker(kind, template_name))  # noqa: S308 — our own marker
    included = context.template.engine.get_template(template_name)
    with context.push():
        return mark_safe(included.render(context))  # noqa: S308 — rendered (and escaped) by it


@functools.lru_cache(maxsize=4096)
def _price(value: Decimal, language: str | None) -> str:
    """Oscar's ``currency`` filter (Babel: about 0.1 ms a call), remembered per amount and
    language: a list page shows the same few prices many times."""
    return currency(value)


def price(value: Decimal) -> str:
    return _price(value, get_language())


@register.simple_tag
def basket_cards(cards: list[BasketCard]) -> SafeString:
    """The list's cards, each an ``<li>``: a basket's title, theme, diets, sizes, its price (for
    the household size the shopper filtered on, else from its cheapest size) and price per
    person per day. Written in Python rather than as a template included per card: this is
    the largest part of the busiest page (24 cards: ~0.5 ms here against ~8 ms)."""
    theme = gettext("Theme:")
    see_inside = gettext("See what is inside")
    return format_html_join(
        "", "<li>{}</li>", ((_card(card, theme, see_inside),) for card in cards)
    )


@register.simple_tag
def diet_badges(diets: tuple[DietBadge, ...]) -> SafeString:
    """A basket's diet promises (``BasketCard.diets``, ``BasketPage.diets``); none: an omnivore
    basket. On the list's cards and on a basket's page."""
    if not diets:
        return format_html('<p class="diet-badges diet-badges--none">{}</p>', gettext("Omnivore"))
    return format_html(
        '<ul class="diet-badges" aria-label="{}">{}</ul>',
        gettext("Diets"),
        format_html_join(
            "",
            '<li class="diet-badge diet-badge--{}">{}</li>',
            ((diet.code, diet.label) for diet in diets),
        ),
    )


def _card(card: BasketCard, theme: str, see_inside: str) -> SafeString:
    offer = card.chosen_offer
    if offer is not None:
        price_line = ngettext(
            "%(price)s for %(persons)s person", "%(price)s for %(persons)s persons", offer.persons
        ) % {"price": price(offer.price), "persons": offer.persons}
        per_day = gettext("%(price)s per person per day") % {
            "price": price(offer.price_per_person_day)
        }
    else:
        price_line = gettext("from %(price)s") % {"price": price(card.price_from)}
        per_day = gettext("from %(price)s per person per day") % {
            "price": price(card.price_per_person_day_from)
        }
    title_id = f"basket-{card.product_id}-title"
    url = card.url
    return format_html(
        '<article class="basket-card" aria-labelledby="{title_id}">'
        '<h3 id="{title_id}" class="basket-card-title h5"><a href="{url}">{title}</a></h3>'
        '<p class="basket-card-theme"><span class="sr-only">{theme} </span>{theme_name}</p>'
        "{diets}"
        '<p class="basket-card-sizes">{sizes}</p>'
        '<p class="basket-card-price">{price_line}</p>'
        '<p class="basket-ppd">{per_day}</p>'
        '<p class="basket-card-link"><a href="{url}" class="btn btn-outline-primary" '
        'aria-describedby="{title_id}">{see_inside}</a></p>'
        "</article>",
        title_id=title_id,
        url=url,
        title=card.title,
        theme=theme,
        theme_name=card.theme_name,
        diets=diet_badges(card.diets),
        sizes=card.sizes_label,
        price_line=price_line,
        per_day=per_day,
        see_inside=see_inside,
    )


@dataclass(frozen=True)
class CartSummary:
    """What the mini-cart shows: the cart's lines and total (Oscar's ``request.basket``), or an
    empty cart without loading one for a visitor who has none (no cart cookie, not logged in)."""

    total: Decimal
    currency: str
    lines: Any  # Oscar's lines, with their products and prices; () when empty


@register.simple_tag(takes_context=True)
def storefront_cart(context) -> CartSummary:
    request = context["request"]
    user = getattr(request, "user", None)
    has_cart = settings.OSCAR_BASKET_COOKIE_OPEN in request.COOKIES or (
        user is not None and user.is_authenticated
    )
    if not has_cart:
        return CartSummary(
            total=Decimal("0.00"), currency=settings.OSCAR_DEFAULT_CURRENCY, lines=()
        )
    basket = request.basket
    total = basket.total_incl_tax if basket.is_tax_known else basket.total_excl_tax
    return CartSummary(total=total, currency=basket.currency, lines=basket.all_lines())


register.simple_tag(menu_categories, name="menu_categories")
