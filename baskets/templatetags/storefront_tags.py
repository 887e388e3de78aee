"""Tags of the storefront's busiest pages, the basket list and basket pages (bench/bench_pages.py
measures them):

- ``{% storefront_hole "kind" "template.html" %}``: a part of a cached page that belongs to the
  visitor; kind is ``account``, ``cart`` or ``messages`` (baskets.page_cache);
- ``{% basket_cards cards %}``: the list's cards; ``{% diet_badges diets %}``: a basket's diets;
- ``{% filter_options options %}``, ``{% diet_checkboxes options %}``: the list's filters;
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
    VariantOffer,
    basket_urls,
    menu_categories,
    price_per_person_day,
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
    the largest part of the busiest page (24 cards: ~0.1 ms here against ~8 ms)."""
    texts = _CardTexts()
    return mark_safe("".join([_card(card, texts) for card in cards]))  # noqa: S308 — escaped


@register.simple_tag
def filter_options(options: Iterable[tuple[str, Any, bool]]) -> SafeString:
    """A ``<select>``'s options, from ``(value, label, selected)`` (``BasketFilterForm``'s
    ``theme_options``, ``persons_options``), as the list's template wrote them in a loop: with
    ``diet_checkboxes``, 0.15 ms less on the busiest page."""
    return mark_safe(  # noqa: S308 — every value escaped
        "".join(
            [
                f'<option value="{_escape(value)}"{" selected" if selected else ""}>'
                f"{_escape(label)}</option>"
                for value, label, selected in options
            ]
        )
    )


@register.simple_tag
def diet_checkboxes(options: Iterable[tuple[str, Any, bool]]) -> SafeString:
    """The list's diet checkboxes, from ``(value, label, checked)`` (``BasketFilterForm``'s
    ``diet_options``), indented as the list's template wrote them in a loop, in its form."""
    return mark_safe(  # noqa: S308 — every value escaped
        "".join(
            [
                '\n                            <div class="form-check">'
                f'\n                                <input type="checkbox" name="diet" '
                f'value="{_escape(value)}" class="form-check-input" id="id_diet_{n}"'
                f"{' checked' if checked else ''}>"
                f'\n                                <label class="form-check-label" '
                f'for="id_diet_{n}">{_escape(label)}</label>'
                "\n                            </div>"
                "\n                        "
                for n, (value, label, checked) in enumerate(options)
            ]
        )
    )


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
    """The texts of one ``basket_cards`` call, each translated (and the language, the script
    prefix and the URLconf read) once for all its cards, and escaped once: a translation costs
    a few µs (asgiref's ``Local``), and 24 cards asked for ~120. The parts cards share are
    remembered, escaped: sizes labels by their sizes, prices by their amounts, diets' badges by
    their diets."""

    def __init__(self) -> None:
        self.language = get_language()
        self.url = basket_urls()
        self.theme = _escape(gettext("Theme:"))
        self.see_inside = _escape(gettext("See what is inside"))
        self._for_persons: dict[int, str] = {}
        self._prices: dict[tuple, str] = {}
        self._sizes: dict[tuple[int, ...], str] = {}
        # By the diets' tuple, kept here so that no other tuple takes its id during the call.
        self._diets: dict[int, tuple[tuple[DietBadge, ...], str]] = {}
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

    def offer_prices(self, offer: VariantOffer) -> str:
        """The price lines of a card for one household size: its price, its price per person
        per day."""
        key = (offer.persons, offer.price, offer.days)
        try:
            return self._prices[key]
        except KeyError:
            price = self.for_persons(offer.persons) % {
                "price": self.price(offer.price),
                "persons": offer.persons,
            }
            per_day = _per_person_day(offer.price, offer.persons, offer.days)
            lines = self._prices[key] = _price_lines(
                price, self.per_day % {"price": self.price(per_day)}
            )
            return lines

    def prices_from(self, offers: tuple[VariantOffer, ...]) -> str:
        """The price lines of a card without a household size: from its cheapest size's price,
        from its lowest price per person per day (``BasketCard.price_from`` and
        ``price_per_person_day_from``)."""
        price = min([offer.price for offer in offers])
        per_day = min([_per_person_day(o.price, o.persons, o.days) for o in offers])
        key = (None, price, per_day)
        try:
            return self._prices[key]
        except KeyError:
            lines = self._prices[key] = _price_lines(
                self.from_price % {"price": self.price(price)},
                self.from_per_day % {"price": self.price(per_day)},
            )
            return lines

    def sizes(self, card: BasketCard) -> str:
        """``card.sizes_label``, escaped."""
        sizes = tuple([offer.persons for offer in card.offers])
        try:
            return self._sizes[sizes]
        except KeyError:
            label = self._sizes[sizes] = _escape(card.sizes_label)  # depends on the sizes only
            return label

    def diets(self, diets: tuple[DietBadge, ...]) -> str:
        """``diet_badges(diets)``."""
        if not diets:
            return self.omnivore
        known = self._diets.get(id(diets))
        if known is not None and known[0] is diets:  # cards share their diets' tuples
            return known[1]
        badges = _diet_list(self.diets_heading, ((diet.code, self._label(diet)) for diet in diets))
        self._diets[id(diets)] = (diets, badges)
        return badges

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


@functools.lru_cache(maxsize=4096)
def _per_person_day(price: Decimal, persons: int, days: int) -> Decimal:
    """``VariantOffer.price_per_person_day``, remembered: a list shows the same few sizes and
    prices many times, and each costs Decimal arithmetic."""
    return price_per_person_day(price=price, persons=persons, days=days)


def _price_lines(price: str, per_day: str) -> str:
    return (
        f'<p class="basket-card-price">{_escape(price)}</p>'
        f'<p class="basket-ppd">{_escape(per_day)}</p>'
    )


def _card(card: BasketCard, texts: _CardTexts) -> str:
    """One card, its values escaped (its product id is a number)."""
    persons = card.persons
    chosen = None
    if persons is not None:  # BasketCard.chosen_offer
        for offer in card.offers:
            if offer.persons == persons:
                chosen = offer
                break
    url = texts.url(card.product_id, card.slug)
    if chosen is not None:
        url = _escape(f"{url}?persons={persons}")
        prices = texts.offer_prices(chosen)
    else:
        url = _escape(url)
        prices = texts.prices_from(card.offers)
    title_id = f"basket-{card.product_id}-title"
    return (
        f'<li><article class="basket-card" aria-labelledby="{title_id}">'
        f'<h3 id="{title_id}" class="basket-card-title h5">'
        f'<a href="{url}">{_escape(card.title)}</a></h3>'
        f'<p class="basket-card-theme"><span class="sr-only">{texts.theme} </span>'
        f"{_escape(card.theme_name)}</p>"
        f"{texts.diets(card.diets)}"
        f'<p class="basket-card-sizes">{texts.sizes(card)}</p>'
        f"{prices}"
        f'<p class="basket-card-link"><a href="{url}" class="btn btn-outline-primary" '
        f'aria-describedby="{title_id}">{texts.see_inside}</a></p>'
        "</article></li>"
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
    if type(value) is str:  # the usual case: neither lazy nor safe
        return html.escape(value)
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
