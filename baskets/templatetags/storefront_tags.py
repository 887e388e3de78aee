"""Tags of the storefront's busiest pages, the basket list and basket pages (bench/bench_pages.py
measures them):

- ``{% storefront_hole "kind" "template.html" %}``: a part of a cached page that belongs to the
  visitor; kind is ``account``, ``cart`` or ``messages`` (baskets.page_cache);
- ``{% basket_cards cards %}``: the list's cards; ``{% diet_badges diets %}``: a basket's diets;
- ``{% composition_table page %}``: a basket page's composition, by aisle;
- ``{% storefront_cart as cart %}``: the visitor's cart, for the mini-cart;
- ``{% menu_categories as categories %}``: the navigation bar's aisles.
"""

from __future__ import annotations

import functools
import html
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django import template
from django.conf import settings
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext
from oscar.templatetags.currency_filters import currency

from baskets.page_cache import ACCOUNT, CART, MESSAGES, hole_marker
from baskets.storefront import (
    BasketCard,
    BasketPage,
    ComponentLine,
    DietBadge,
    menu_categories,
)

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


@register.simple_tag
def basket_cards(cards: list[BasketCard]) -> SafeString:
    """The list's cards, each an ``<li>``: a basket's title, theme, diets, sizes, its price (for
    the household size the shopper filtered on, else from its cheapest size) and price per
    person per day. Written in Python rather than as a template included per card: this is
    the largest part of the busiest page (24 cards: ~0.5 ms here against ~8 ms)."""
    texts = _CardTexts()
    return mark_safe("".join([f"<li>{_card(card, texts)}</li>" for card in cards]))  # noqa: S308


@register.simple_tag
def diet_badges(diets: tuple[DietBadge, ...]) -> SafeString:
    """A basket's diet promises (``BasketCard.diets``, ``BasketPage.diets``); none: an omnivore
    basket. On the list's cards and on a basket's page."""
    if not diets:
        return _omnivore_badge(gettext("Omnivore"))
    return _diet_list(gettext("Diets"), ((diet.code, diet.label) for diet in diets))


def _omnivore_badge(omnivore: str) -> SafeString:
    return _format_html('<p class="diet-badges diet-badges--none">{text}</p>', text=omnivore)


def _diet_list(heading: str, badges: Iterable[tuple[str, str]]) -> SafeString:
    """The badges' list, from ``(code, label)`` pairs."""
    items = "".join(
        f'<li class="diet-badge diet-badge--{_escape(code)}">{_escape(label)}</li>'
        for code, label in badges
    )
    return mark_safe(f'<ul class="diet-badges" aria-label="{_escape(heading)}">{items}</ul>')  # noqa: S308


class _CardTexts:
    """The texts of one ``basket_cards`` call, each translated (and the language read) once for
    all its cards: a translation costs ~4 µs (asgiref's ``Local``), and 24 cards asked for ~120.
    Sizes labels are remembered by their sizes, texts for a household size by its number of
    persons, diets' labels by their codes."""

    def __init__(self) -> None:
        self.language = get_language()
        self.theme = gettext("Theme:")
        self.see_inside = gettext("See what is inside")
        self._for_persons: dict[int, str] = {}
        self._sizes: dict[tuple[int, ...], str] = {}
        self._diet_labels: dict[str, str] = {}

    def price(self, value: Decimal) -> str:
        return _price(value, self.language)

    def for_persons(self, persons: int) -> str:
        try:
            return self._for_persons[persons]
        except KeyError:
            text = self._for_persons[persons] = ngettext(
                "%(price)s for %(persons)s person", "%(price)s for %(persons)s persons", persons
            )
            return text

    @functools.cached_property
    def per_day(self) -> str:
        return gettext("%(price)s per person per day")

    @functools.cached_property
    def from_price(self) -> str:
        return gettext("from %(price)s")

    @functools.cached_property
    def from_per_day(self) -> str:
        return gettext("from %(price)s per person per day")

    def sizes(self, card: BasketCard) -> str:
        sizes = tuple(card.sizes)
        try:
            return self._sizes[sizes]
        except KeyError:
            label = self._sizes[sizes] = card.sizes_label  # depends on the sizes only
            return label

    def diets(self, diets: tuple[DietBadge, ...]) -> SafeString:
        """``diet_badges(diets)``."""
        if not diets:
            return self.omnivore
        return _diet_list(self.diets_heading, ((diet.code, self._label(diet)) for diet in diets))

    @functools.cached_property
    def omnivore(self) -> SafeString:
        return _omnivore_badge(gettext("Omnivore"))

    @functools.cached_property
    def diets_heading(self) -> str:
        return gettext("Diets")

    def _label(self, diet: DietBadge) -> str:
        # By code: a diet's label is its code's (Diet.choices), a lazy text translated when shown.
        try:
            return self._diet_labels[diet.code]
        except KeyError:
            label = self._diet_labels[diet.code] = str(diet.label)
            return label


def _card(card: BasketCard, texts: _CardTexts) -> SafeString:
    offer = card.chosen_offer
    if offer is not None:
        price_line = texts.for_persons(offer.persons) % {
            "price": texts.price(offer.price),
            "persons": offer.persons,
        }
        per_day = texts.per_day % {"price": texts.price(offer.price_per_person_day)}
    else:
        price_line = texts.from_price % {"price": texts.price(card.price_from)}
        per_day = texts.from_per_day % {"price": texts.price(card.price_per_person_day_from)}
    title_id = f"basket-{card.product_id}-title"
    url = card.url
    return _format_html(
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
        theme=texts.theme,
        theme_name=card.theme_name,
        diets=texts.diets(card.diets),
        sizes=texts.sizes(card),
        price_line=price_line,
        per_day=per_day,
        see_inside=texts.see_inside,
    )


@register.simple_tag
def composition_table(page: BasketPage) -> SafeString:
    """A basket page's composition for its selected household size: a heading, the number of
    products and a table of them with their brand, pack size ("—" when unknown) and quantity,
    one ``<tbody>`` per aisle (``page.components`` come by aisle), headed by its name (none for
    products in no aisle). Written in Python rather than in the page's template, which spent
    ~0.8 ms on a 40-product table (~0.1 ms here); the texts are the template's own msgids, each
    translated once a call."""
    persons = page.selected.persons
    count = page.component_count
    heading = _blocktrans(
        ngettext(
            "What is inside, for %(persons)s person",
            "What is inside, for %(persons)s persons",
            persons,
        ),
        persons=persons,
    )
    products = _blocktrans(
        ngettext("%(counter)s different product.", "%(counter)s different products.", count),
        counter=count,
    )
    caption = _blocktrans(
        gettext("Composition of %(title)s for a household of %(persons)s"),
        title=page.title,
        persons=persons,
    )
    aisles = "".join(
        "<tbody>"
        + (
            f'<tr class="composition-aisle"><th scope="rowgroup" colspan="3">{_escape(aisle)}'
            "</th></tr>"
            if aisle
            else ""
        )
        + _composition_rows(lines)
        + "</tbody>"
        for aisle, lines in itertools.groupby(page.components, key=attrgetter("aisle"))
    )
    return _format_html(
        '<section class="basket-composition" aria-labelledby="basket-composition-title">'
        '<h2 id="basket-composition-title" class="h4">{heading}</h2>'
        "<p>{products}</p>"
        '<div class="table-responsive"><table class="table composition-table">'
        '<caption class="sr-only">{caption}</caption>'
        '<thead><tr><th scope="col">{product}</th><th scope="col">{pack_size}</th>'
        '<th scope="col" class="composition-quantity">{quantity}</th></tr></thead>'
        "{aisles}"
        "</table></div>"
        "</section>",
        heading=heading,
        products=products,
        caption=caption,
        product=gettext("Product"),
        pack_size=gettext("Pack size"),
        quantity=gettext("Quantity"),
        aisles=mark_safe(aisles),  # noqa: S308 — every value in it escaped by _escape
    )


def _composition_rows(lines: Iterable[ComponentLine]) -> str:
    return "".join(
        f'<tr><th scope="row" class="composition-product">{_escape(line.title)}'
        + (f' <span class="composition-brand">{_escape(line.brand)}</span>' if line.brand else "")
        + f"</th><td>{_escape(line.pack_size or '—')}</td>"
        f'<td class="composition-quantity">{_escape(line.quantity)}</td></tr>'
        for line in lines
    )


def _format_html(format_string: str, /, **values: Any) -> SafeString:
    """``format_html``, escaping with ``_escape``: the same text at about a third of the cost."""
    return mark_safe(format_string.format(**{k: _escape(v) for k, v in values.items()}))  # noqa: S308


def _escape(value: Any) -> str:
    """``conditional_escape``, as ``{{ value }}`` escapes, without the lazy-text wrapper of
    Django's ``escape`` (about 2 µs a call: a card has ten values, a composition row four)."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _blocktrans(message: str, **values: Any) -> SafeString:
    """What ``{% blocktrans %}`` makes of a translated ``message``: the translators' text as it
    is, the values put in it escaped. (Numbers are not localised: without
    ``USE_THOUSAND_SEPARATOR`` the template writes integers as ``str`` does.)"""
    escaped = {name: _escape(value) for name, value in values.items()}
    return mark_safe(message % escaped)  # noqa: S308 — trusted translation, escaped values


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
