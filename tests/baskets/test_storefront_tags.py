"""The storefront tags written in Python render what templates rendered before them: a basket
page's composition table (``{% composition_table %}``, formerly a section of
``basket_detail.html``), the list's cards (``{% basket_cards %}``), byte for byte as before
they looked each text up once a call, and the list's filters' options (``{% filter_options %}``,
``{% diet_checkboxes %}``, formerly loops of ``basket_list.html``). Pure: dataclasses in, HTML
out, no database."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from unittest import mock

import pytest
from django.template import engines
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext_lazy

from baskets import storefront
from baskets.models import Diet
from baskets.storefront import BasketCard, ComponentLine, VariantOffer, _diet_badges
from baskets.templatetags import storefront_tags
from baskets.templatetags.storefront_tags import (
    basket_cards,
    composition_table,
    diet_badges,
    diet_checkboxes,
    filter_options,
)

HOSTILE = "<script>alert('x')</script>"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Page:
    """What ``composition_table`` reads of a ``BasketPage`` (which also holds Oscar products,
    so needs the database)."""

    title: str
    selected: VariantOffer
    components: tuple[ComponentLine, ...]

    @property
    def component_count(self) -> int:
        return len(self.components)


def offer(persons: int, price: str = "60.00") -> VariantOffer:
    return VariantOffer(
        variant_id=100 + persons,
        product_id=200 + persons,
        persons=persons,
        days=7,
        price=Decimal(price),
    )


def line(title: str, *, aisle: str, brand: str = "", pack_size: str = "", quantity: int = 1):
    return ComponentLine(
        product_id=next(_ids),
        title=title,
        brand=brand,
        pack_size=pack_size,
        quantity=quantity,
        aisle=aisle,
    )


def page(*lines: ComponentLine, persons: int = 2, title: str = "Panier Essentiel") -> Page:
    return Page(title=title, selected=offer(persons), components=lines)


LINES = (
    line("Riz rond", aisle="Épicerie", brand="Taureau ailé", pack_size="1 kg", quantity=2),
    line("Sel", aisle="Épicerie", quantity=1),  # no brand, no pack size
    line("Yaourt", aisle="Frais", brand="Les Essentiels", pack_size="4 × 125 g", quantity=4),
    line("Pain", aisle="", pack_size="400 g", quantity=3),  # in no aisle
)
HOSTILE_LINES = (
    line(HOSTILE, aisle=HOSTILE, brand=HOSTILE, pack_size=HOSTILE),
    line("Thé & café", aisle=HOSTILE, brand="L'Or", quantity=12),
)

# The section as basket_detail.html rendered it before the tag (inside its
# ``{% with selected=page.selected %}``).
TEMPLATE_SECTION = """{% load i18n %}{% with selected=page.selected %}
    <section class="basket-composition" aria-labelledby="basket-composition-title">
        <h2 id="basket-composition-title" class="h4">
            {% blocktrans count persons=selected.persons %}What is inside, for {{ persons }} person{% plural %}What is inside, for {{ persons }} persons{% endblocktrans %}
        </h2>
        <p>{% blocktrans count counter=page.component_count %}{{ counter }} different product.{% plural %}{{ counter }} different products.{% endblocktrans %}</p>
        <div class="table-responsive">
            <table class="table composition-table">
                <caption class="sr-only">{% blocktrans with title=page.title persons=selected.persons %}Composition of {{ title }} for a household of {{ persons }}{% endblocktrans %}</caption>
                <thead>
                    <tr>
                        <th scope="col">{% trans "Product" %}</th>
                        <th scope="col">{% trans "Pack size" %}</th>
                        <th scope="col" class="composition-quantity">{% trans "Quantity" %}</th>
                    </tr>
                </thead>
                {% regroup page.components by aisle as aisles %}
                {% for aisle in aisles %}
                    <tbody>
                        {% if aisle.grouper %}<tr class="composition-aisle"><th scope="rowgroup" colspan="3">{{ aisle.grouper }}</th></tr>{% endif %}
                        {% for line in aisle.list %}
                            <tr>
                                <th scope="row" class="composition-product">{{ line.title }}{% if line.brand %} <span class="composition-brand">{{ line.brand }}</span>{% endif %}</th>
                                <td>{{ line.pack_size|default:"—" }}</td>
                                <td class="composition-quantity">{{ line.quantity }}</td>
                            </tr>
                        {% endfor %}
                    </tbody>
                {% endfor %}
            </table>
        </div>
    </section>
{% endwith %}"""  # noqa: E501


def without_layout(html: str) -> str:
    """The template's indentation dropped: every run of white space holding a line break (the
    text's own spaces, as before a brand, have none)."""
    return re.sub(r"\s*\n\s*", "", html)


# --- {% composition_table page %} ---


def test_each_line_shows_its_title_brand_pack_size_and_quantity_under_its_aisle():
    # given four lines: two in one aisle, one in another, one in no aisle
    with translation.override("en"):
        # when the table is rendered
        html = composition_table(page(*LINES, persons=2))
    # then each aisle is a <tbody> headed by its name, in order; the line in no aisle has none
    assert html == (
        '<section class="basket-composition" aria-labelledby="basket-composition-title">'
        '<h2 id="basket-composition-title" class="h4">What is inside, for 2 persons</h2>'
        "<p>4 different products.</p>"
        '<div class="table-responsive"><table class="table composition-table">'
        '<caption class="sr-only">Composition of Panier Essentiel for a household of 2</caption>'
        '<thead><tr><th scope="col">Product</th><th scope="col">Pack size</th>'
        '<th scope="col" class="composition-quantity">Quantity</th></tr></thead>'
        "<tbody>"
        '<tr class="composition-aisle"><th scope="rowgroup" colspan="3">Épicerie</th></tr>'
        '<tr><th scope="row" class="composition-product">Riz rond '
        '<span class="composition-brand">Taureau ailé</span></th>'
        '<td>1 kg</td><td class="composition-quantity">2</td></tr>'
        '<tr><th scope="row" class="composition-product">Sel</th>'
        '<td>—</td><td class="composition-quantity">1</td></tr>'
        "</tbody>"
        "<tbody>"
        '<tr class="composition-aisle"><th scope="rowgroup" colspan="3">Frais</th></tr>'
        '<tr><th scope="row" class="composition-product">Yaourt '
        '<span class="composition-brand">Les Essentiels</span></th>'
        '<td>4 × 125 g</td><td class="composition-quantity">4</td></tr>'
        "</tbody>"
        "<tbody>"
        '<tr><th scope="row" class="composition-product">Pain</th>'
        '<td>400 g</td><td class="composition-quantity">3</td></tr>'
        "</tbody>"
        "</table></div></section>"
    )


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    ("persons", "lines"),
    [(1, LINES[:1]), (4, LINES + HOSTILE_LINES), (2, ())],
    ids=["one-person-one-product", "several-with-hostile-texts", "no-product"],
)
def test_the_tag_renders_what_the_template_rendered(language, persons, lines):
    # given the page's former template section
    tested = page(*lines, persons=persons, title=f"Panier {HOSTILE}")
    template = engines["django"].from_string(TEMPLATE_SECTION)
    with translation.override(language):
        # when both render the same page
        expected = template.render({"page": tested})
        html = composition_table(tested)
    # then they show the same (the tag writes no indentation)
    assert html == without_layout(expected)
    assert "<script>" not in html


def test_hostile_texts_are_escaped():
    # given staff-written texts that look like HTML
    tested = page(line(HOSTILE, aisle=HOSTILE, brand=HOSTILE), title=HOSTILE)
    # when the table is rendered
    html = composition_table(tested)
    # then they show as text: in the caption, the aisle's header, the title and the brand
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    assert "<script>" not in html
    assert html.count(escaped) == 4
    assert f'<th scope="rowgroup" colspan="3">{escaped}</th>' in html
    assert f'<span class="composition-brand">{escaped}</span>' in html


def test_french_texts_and_plurals():
    # given French, the shop's language
    with translation.override("fr"):
        # when the table shows one product for one person, then forty for four
        one = composition_table(page(LINES[1], persons=1, title="Panier solo"))
        many = composition_table(
            page(*(line(f"Produit {n}", aisle="Épicerie") for n in range(40)), persons=4)
        )
    # then the heading, the count and the caption are French, singular then plural; the
    # translators' text is not escaped (as {% blocktrans %} leaves it), what is put in it is
    assert "Ce qu'il contient, pour 1 personne</h2>" in one
    assert "<p>1 produit différent.</p>" in one
    assert "Composition de « Panier solo » pour un foyer de 1</caption>" in one
    assert (
        '<th scope="col">Produit</th><th scope="col">Conditionnement</th>'
        '<th scope="col" class="composition-quantity">Quantité</th>'
    ) in one
    assert "Ce qu'il contient, pour 4 personnes</h2>" in many
    assert "<p>40 produits différents.</p>" in many
    assert "pour un foyer de 4</caption>" in many


def test_texts_are_translated_once_per_table_whatever_its_length():
    # given a table of 40 lines in 8 aisles
    lines = [line(f"Produit {n}", aisle=f"Rayon {n // 5}") for n in range(40)]
    gettext = mock.Mock(wraps=storefront_tags.gettext)
    ngettext = mock.Mock(wraps=storefront_tags.ngettext)
    with (
        mock.patch.object(storefront_tags, "gettext", gettext),
        mock.patch.object(storefront_tags, "ngettext", ngettext),
    ):
        # when it is rendered
        composition_table(page(*lines))
    # then the caption and the three column headers, the heading and the count: no more
    assert gettext.call_count == 4
    assert ngettext.call_count == 2


# --- {% basket_cards cards %} ---


def card(*, persons: int | None = None, diets=("vegetarian", "halal"), sizes=None) -> BasketCard:
    sizes = sizes or {1: "39.90", 2: "60.00", 4: "100.00"}
    return BasketCard(
        product_id=7,
        title="Panier <Essentiel> & co",
        slug="panier-essentiel",
        theme_name="Fromages & vins",
        theme_slug="fromages",
        days=7,
        diets=_diet_badges(set(diets)),
        offers=tuple(offer(n, price) for n, price in sizes.items()),
        persons=persons,
    )


# What basket_cards wrote before it looked each text up once a call (Django's own escaping).
CARD_FROM = (
    '<li><article class="basket-card" aria-labelledby="basket-7-title">'
    '<h3 id="basket-7-title" class="basket-card-title h5">'
    '<a href="/paniers/panier-essentiel-7/">Panier &lt;Essentiel&gt; &amp; co</a></h3>'
    '<p class="basket-card-theme"><span class="sr-only">Thème : </span>Fromages &amp; vins</p>'
    '<ul class="diet-badges" aria-label="Régimes alimentaires">'
    '<li class="diet-badge diet-badge--vegetarian">Végétarien</li>'
    '<li class="diet-badge diet-badge--halal">Halal</li></ul>'
    '<p class="basket-card-sizes">Pour 1, 2, 4 personnes</p>'
    '<p class="basket-card-price">à partir de 39,90\xa0€</p>'
    '<p class="basket-ppd">dès 3,57\xa0€ par personne et par jour</p>'
    '<p class="basket-card-link"><a href="/paniers/panier-essentiel-7/" '
    'class="btn btn-outline-primary" aria-describedby="basket-7-title">'
    "Voir ce qu&#x27;il contient</a></p></article></li>"
)
CARD_FOR_TWO = (
    '<li><article class="basket-card" aria-labelledby="basket-7-title">'
    '<h3 id="basket-7-title" class="basket-card-title h5">'
    '<a href="/paniers/panier-essentiel-7/?persons=2">Panier &lt;Essentiel&gt; &amp; co</a></h3>'
    '<p class="basket-card-theme"><span class="sr-only">Thème : </span>Fromages &amp; vins</p>'
    '<ul class="diet-badges" aria-label="Régimes alimentaires">'
    '<li class="diet-badge diet-badge--vegetarian">Végétarien</li>'
    '<li class="diet-badge diet-badge--halal">Halal</li></ul>'
    '<p class="basket-card-sizes">Pour 1, 2, 4 personnes</p>'
    '<p class="basket-card-price">60,00\xa0€ pour 2 personnes</p>'
    '<p class="basket-ppd">soit 4,29\xa0€ par personne et par jour</p>'
    '<p class="basket-card-link"><a href="/paniers/panier-essentiel-7/?persons=2" '
    'class="btn btn-outline-primary" aria-describedby="basket-7-title">'
    "Voir ce qu&#x27;il contient</a></p></article></li>"
)
CARD_FOR_ONE_EN = (
    '<li><article class="basket-card" aria-labelledby="basket-7-title">'
    '<h3 id="basket-7-title" class="basket-card-title h5">'
    '<a href="/en/paniers/panier-essentiel-7/?persons=1">Panier &lt;Essentiel&gt; &amp; co</a></h3>'
    '<p class="basket-card-theme"><span class="sr-only">Theme: </span>Fromages &amp; vins</p>'
    '<p class="diet-badges diet-badges--none">Omnivore</p>'
    '<p class="basket-card-sizes">For 1 person</p>'
    '<p class="basket-card-price">€39.90 for 1 person</p>'
    '<p class="basket-ppd">€5.70 per person per day</p>'
    '<p class="basket-card-link"><a href="/en/paniers/panier-essentiel-7/?persons=1" '
    'class="btn btn-outline-primary" aria-describedby="basket-7-title">'
    "See what is inside</a></p></article></li>"
)


def test_a_card_without_a_chosen_size_shows_prices_from_its_cheapest():
    assert basket_cards([card()]) == CARD_FROM


def test_a_card_for_the_chosen_household_size_shows_that_sizes_prices():
    assert basket_cards([card(persons=2)]) == CARD_FOR_TWO


def test_an_omnivore_card_for_one_person_in_english():
    with translation.override("en"):
        assert basket_cards([card(persons=1, diets=(), sizes={1: "39.90"})]) == CARD_FOR_ONE_EN


def test_cards_together_are_the_cards_one_by_one():
    # given cards sharing texts, sizes and diets, and one in English alone
    cards = [card(), card(persons=2), card(), card(persons=2)]
    # then the list is each card as it renders alone, in order
    assert basket_cards(cards) == CARD_FROM + CARD_FOR_TWO + CARD_FROM + CARD_FOR_TWO


def test_card_texts_are_translated_once_per_list():
    # given 24 cards: with and without a chosen size, with and without diets
    cards = [card(persons=2), card(), card(diets=()), card(persons=4, diets=("vegan",))] * 6
    gettext = mock.Mock(wraps=storefront_tags.gettext)
    ngettext = mock.Mock(wraps=storefront_tags.ngettext)
    language = mock.Mock(wraps=storefront_tags.get_language)
    with (
        mock.patch.object(storefront_tags, "gettext", gettext),
        mock.patch.object(storefront_tags, "ngettext", ngettext),
        mock.patch.object(storefront_tags, "get_language", language),
    ):
        html = basket_cards(cards)
    # then each text once: theme, "see inside", per day, from, from per day, omnivore, diets
    assert gettext.call_count == 7
    # the price for 2 and for 4 persons (the sizes' label is BasketCard's, once per size set)
    assert ngettext.call_count == 2
    assert language.call_count == 1
    assert html.count("<li><article") == 24


def test_hostile_texts_in_a_card_are_escaped():
    # given a title and a theme name that look like HTML, with quotes and ampersands
    title = f'{HOSTILE} "Panier" & co'
    theme = f'{HOSTILE} "&amp; <b>'
    hostile = replace(card(persons=2), title=title, theme_name=theme)
    # when its card is rendered
    html = basket_cards([hostile])
    # then both show as text, escaped as {{ value }} escapes them, and nothing else changes
    assert "<script>" not in html
    assert "<b>" not in html
    assert html == CARD_FOR_TWO.replace("Panier &lt;Essentiel&gt; &amp; co", escape(title)).replace(
        "Fromages &amp; vins", escape(theme)
    )
    assert escape(title) == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;Panier&quot; &amp; co"
    )


def test_cards_read_one_at_a_time_show_their_own_diets():
    # given cards built as they are read (a generator), each with diets of its own
    diets = [("vegan",), ("halal",), (), ("vegetarian", "halal")] * 6

    def cards():
        for codes in diets:
            yield card(diets=codes)

    # when they are rendered, then each card shows its own diets
    assert basket_cards(cards()) == "".join(basket_cards([card(diets=codes)]) for codes in diets)


def test_the_cards_addresses_are_read_once_per_list():
    # given 24 cards
    cards = [card(persons=2), card()] * 12
    urlconf = mock.Mock(wraps=storefront.get_urlconf)
    prefix = mock.Mock(wraps=storefront.get_script_prefix)
    with (
        mock.patch.object(storefront, "get_urlconf", urlconf),
        mock.patch.object(storefront, "get_script_prefix", prefix),
    ):
        # when they are rendered
        html = basket_cards(cards)
    # then what an address depends on is read once, and each card links to its basket
    assert urlconf.call_count == prefix.call_count == 1
    assert html == (CARD_FOR_TWO + CARD_FROM) * 12


# --- {% filter_options options %}, {% diet_checkboxes options %}: the list's filters ---

# The loops of basket_list.html before the tags, in their place in the form.
OPTIONS_LOOP = (
    '{% for value, label, selected in options %}<option value="{{ value }}"'
    "{% if selected %} selected{% endif %}>{{ label }}</option>{% endfor %}"
)
CHECKBOXES_LOOP = """{% for value, label, selected in options %}
                            <div class="form-check">
                                <input type="checkbox" name="diet" value="{{ value }}" class="form-check-input" id="id_diet_{{ forloop.counter0 }}"{% if selected %} checked{% endif %}>
                                <label class="form-check-label" for="id_diet_{{ forloop.counter0 }}">{{ label }}</label>
                            </div>
                        {% endfor %}"""  # noqa: E501

FILTER_OPTIONS = [
    [],
    [("", gettext_lazy("All themes"), True), ("essentiel", "Essentiel", False)],
    [("", gettext_lazy("All sizes"), False), ("2", "2 personnes", True), ("4", "4 pers.", False)],
    [(HOSTILE, f'{HOSTILE} "&amp;', True), ('a"b&c', "l'été", False)],
    [(code, label, code == "vegan") for code, label in Diet.choices],
    [(code, label, True) for code, label in Diet.choices],
]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("options", FILTER_OPTIONS)
def test_filter_tags_render_what_the_template_loops_rendered(language, options):
    with translation.override(language):
        # when the tags and the loops they replace render the same options
        loops = [
            engines["django"].from_string(loop).render({"options": options})
            for loop in (OPTIONS_LOOP, CHECKBOXES_LOOP)
        ]
        # then they write the same, byte for byte
        assert filter_options(options) == loops[0]
        assert diet_checkboxes(options) == loops[1]
    assert "<script>" not in filter_options(options) + diet_checkboxes(options)


def test_diet_badges_on_a_basket_page():
    badges = _diet_badges({"vegan", "no_pork"})
    assert diet_badges(badges) == (
        '<ul class="diet-badges" aria-label="Régimes alimentaires">'
        '<li class="diet-badge diet-badge--vegan">Végan</li>'
        '<li class="diet-badge diet-badge--no_pork">Sans porc</li></ul>'
    )
    assert diet_badges(()) == '<p class="diet-badges diet-badges--none">Omnivore</p>'
