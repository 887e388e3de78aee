"""The shopper's storefront: the basket list (filters) and a basket's page (composition, prices,
household sizes, add to cart), in French by default and in English under /en/."""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oscar.apps.basket.models import Line
from oscar.apps.catalogue.models import ProductClass

from baskets.models import BasketTheme, Diet, ThemedBasket
from baskets.product_classes import BASKET_CLASS_SLUG
from baskets.services.rules import basket_variant_withdraw
from baskets.storefront import (
    SaleRow,
    _rows_for_sale_query,
    basket_page,
    baskets_for_sale,
    price_per_person_day,
    rows_for_sale,
)
from essentiels.oscar_forks.partner.models import StockRecord
from tests.baskets.factories import (
    ALL_DIETS,
    basket_theme_create,
    groceries_create,
    grocery_create,
    themed_basket_create,
)

pytestmark = pytest.mark.django_db

NBSP = "\xa0"  # French money: "4,12 €" with a no-break space


def euros(text: str) -> str:
    """ "4,12 €" as the page writes it."""
    return text.replace(" €", f"{NBSP}€")


def page_text(response) -> str:
    """The page's visible text, on one line (tags dropped, spaces collapsed)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", html))
    return re.sub(r"\s+", " ", text.replace(NBSP, "\x00")).replace("\x00", NBSP)


def listed_titles(response) -> list[str]:
    html = response.content.decode()
    titles = re.findall(r'class="basket-card-title h5">\s*<a href="[^"]+">([^<]+)</a>', html)
    return [htmllib.unescape(title) for title in titles]


@dataclass
class Shop:
    essentiel: BasketTheme
    fromages: BasketTheme
    omnivore: ThemedBasket
    vegetarian: ThemedBasket
    cheeses: ThemedBasket
    draft: ThemedBasket


@pytest.fixture
def shop() -> Shop:
    # given two themes and three baskets on sale, plus a draft nobody may see
    essentiel = basket_theme_create(name="Essentiel", slug="essentiel", position=1)
    fromages = basket_theme_create(name="Fromages de nos régions", slug="fromages", position=2)
    veggie = groceries_create(count=3, diets=ALL_DIETS)
    ham = grocery_create(title="Jambon", diets={"gluten_free", "lactose_free"})
    bread = grocery_create(title="Pain", diets={"vegetarian", "vegan", "halal", "no_pork"})
    comte = grocery_create(title="Comté", diets={"vegetarian", "gluten_free", "halal", "no_pork"})
    omnivore = themed_basket_create(
        title="Panier omnivore",
        theme=essentiel,
        components={**dict.fromkeys(veggie, 1), ham: 1},
        sizes={2: "60.00", 4: "100.00"},
    )
    vegetarian = themed_basket_create(
        title="Panier végétarien",
        theme=essentiel,
        diets={"vegetarian"},
        components={**dict.fromkeys(veggie, 1), bread: 1},
        sizes={1: "35.00", 2: "62.00"},
    )
    cheeses = themed_basket_create(
        title="Panier fromager",
        theme=fromages,
        diets={"vegetarian", "gluten_free"},
        components={comte: 1, veggie[0]: 1},
        sizes={2: "40.00", 3: "55.00"},
    )
    draft = themed_basket_create(
        title="Panier brouillon", theme=essentiel, components={veggie[0]: 1}, publish=False
    )
    return Shop(essentiel, fromages, omnivore, vegetarian, cheeses, draft)


# --- The basket list ---


def test_home_leads_to_the_basket_list(client):
    assert client.get("/")["Location"] == "/paniers/"
    assert client.get("/en/")["Location"] == "/en/paniers/"


def test_the_list_shows_every_basket_on_sale_and_nothing_else(client, shop):
    # when a shopper opens the list
    response = client.get(reverse("baskets:list"))
    # then the three published baskets are listed by theme, the draft is not
    assert response.status_code == 200
    assert listed_titles(response) == ["Panier omnivore", "Panier végétarien", "Panier fromager"]
    assert "Panier brouillon" not in response.content.decode()
    assert "3 paniers" in page_text(response)


def test_a_basket_whose_sizes_are_all_withdrawn_leaves_the_list(client, shop):
    # given the cheese basket's two sizes taken off sale
    for variant in shop.cheeses.variants.all():
        basket_variant_withdraw(variant_id=variant.pk)
    # then it is no longer listed, and its page is gone
    response = client.get("/paniers/")
    assert "Panier fromager" not in listed_titles(response)
    assert client.get(f"/paniers/x-{shop.cheeses.product_id}/").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("theme=fromages", ["Panier fromager"]),
        ("theme=essentiel", ["Panier omnivore", "Panier végétarien"]),
        ("diet=vegetarian", ["Panier végétarien", "Panier fromager"]),
        # a basket matches when it promises every diet ticked
        ("diet=vegetarian&diet=gluten_free", ["Panier fromager"]),
        ("diet=vegan", []),
        ("persons=1", ["Panier végétarien"]),
        ("persons=4", ["Panier omnivore"]),
        ("persons=2", ["Panier omnivore", "Panier végétarien", "Panier fromager"]),
        # combined
        ("theme=essentiel&diet=vegetarian&persons=2", ["Panier végétarien"]),
        ("theme=essentiel&persons=3", []),
        ("theme=fromages&diet=vegetarian&persons=3", ["Panier fromager"]),
    ],
)
def test_filters_by_theme_diet_and_household_size_combine(client, shop, query, expected):
    # when the shopper filters the list through the URL
    response = client.get(f"/paniers/?{query}")
    # then exactly the matching baskets are listed, with no warning
    assert response.status_code == 200
    assert listed_titles(response) == expected
    assert 'role="alert"' not in response.content.decode()
    if not expected:
        assert "Aucun panier ne correspond encore à tous ces filtres." in page_text(response)


def test_the_filter_form_keeps_the_shoppers_choices(client, shop):
    html = client.get("/paniers/?theme=fromages&diet=gluten_free&persons=3").content.decode()
    assert '<option value="fromages" selected>' in html
    assert '<option value="3" selected>3 personnes</option>' in html
    assert re.search(r'<input type="checkbox" name="diet" value="gluten_free"[^>]* checked', html)
    # labelled controls, a legend for the diet checkboxes, submit without JavaScript
    assert '<label for="id_theme">Thème</label>' in html
    assert '<label for="id_persons">Taille du foyer</label>' in html
    assert '<legend class="storefront-legend">Régime alimentaire</legend>' in html
    assert '<form method="get" action="/paniers/">' in html


@pytest.mark.parametrize(
    ("query", "message", "expected"),
    [
        ("theme=inconnu", "Aucun thème « inconnu » n'est en vente", None),
        ("persons=abc", "« abc » n'est pas une taille de foyer que nous proposons", None),
        ("persons=0", "« 0 » n'est pas une taille de foyer que nous proposons", None),
        ("persons=7", "« 7 » n'est pas une taille de foyer que nous proposons", None),
        ("persons=99999999999999999999999", "n'est pas une taille de foyer", None),
        ("diet=xyz", "« xyz » n'est pas un régime alimentaire que nous connaissons", None),
        # the good filters still apply
        (
            "diet=vegetarian&diet=xyz&theme=fromages",
            "« xyz » n'est pas un régime alimentaire",
            ["Panier fromager"],
        ),
        ("theme=nope&persons=1", "Aucun thème « nope »", ["Panier végétarien"]),
        ("theme=" + "x" * 500, "Aucun thème « " + "x" * 39 + "… »", None),
        ("page=abc", None, None),
        ("page=999", None, None),
    ],
)
def test_bad_filter_values_are_ignored_and_the_shopper_is_told(
    client, shop, query, message, expected
):
    # when the URL holds a value the shop does not know
    response = client.get(f"/paniers/?{query}")
    # then the page still answers, says which filter it ignored, and lists without it
    assert response.status_code == 200
    all_baskets = ["Panier omnivore", "Panier végétarien", "Panier fromager"]
    assert listed_titles(response) == (expected or all_baskets)
    if message:
        assert 'role="alert"' in response.content.decode()
        assert message in page_text(response)


def test_markup_in_a_bad_value_is_not_rendered(client, shop):
    html = client.get("/paniers/?theme=<script>alert(1)</script>").content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_long_lists_are_paginated_keeping_the_filters(client, shop, monkeypatch):
    # given two baskets per page
    monkeypatch.setattr("baskets.views.BASKETS_PER_PAGE", 2)
    # when the shopper lists the 2-person baskets, then they come page by page
    first = client.get("/paniers/?persons=2")
    assert listed_titles(first) == ["Panier omnivore", "Panier végétarien"]
    assert 'href="?persons=2&amp;page=2"' in first.content.decode()
    assert "Page 1 sur 2" in page_text(first)
    second = client.get("/paniers/?persons=2&page=2")
    assert listed_titles(second) == ["Panier fromager"]
    assert "3 paniers" in page_text(second)


def test_a_card_shows_theme_diets_sizes_and_prices_from(client, shop):
    # given the vegetarian basket: 35 € for 1 person, 62 € for 2, over 7 days
    text = page_text(client.get("/paniers/?diet=vegetarian&theme=essentiel"))
    # then its card shows the theme, the diet, the sizes and the lowest prices
    assert "Essentiel" in text
    assert "Végétarien" in text
    assert "Pour 1, 2 personnes" in text
    assert euros("à partir de 35,00 €") in text
    # per person per day: min(35 / 7 = 5.00, 62 / 14 = 4.428… → 4.43)
    assert euros("dès 4,43 € par personne et par jour") in text


def test_filtering_on_a_size_shows_that_sizes_prices_and_links_to_it(client, shop):
    response = client.get("/paniers/?persons=4")
    text = page_text(response)
    # 100 € for 4 persons × 7 days = 3.5714… → 3,57 €
    assert euros("100,00 € pour 4 personnes") in text
    assert euros("soit 3,57 € par personne et par jour") in text
    assert f"-{shop.omnivore.product_id}/?persons=4" in response.content.decode()


def test_an_omnivore_basket_says_so(client, shop):
    assert "Omnivore" in page_text(client.get("/paniers/?theme=essentiel"))


def test_the_navigation_links_to_the_baskets(client, shop):
    html = client.get("/catalogue/").content.decode()
    assert '<a class="nav-link" href="/paniers/">Nos paniers</a>' in html


def test_the_list_includes_the_postcode_check(client, shop):
    assert 'class="delivery-check' in client.get("/paniers/").content.decode()


# --- The basket page ---


def basket_url(basket: ThemedBasket, query: str = "") -> str:
    url = reverse("baskets:detail", kwargs={"slug": basket.product.slug, "pk": basket.product_id})
    return f"{url}?{query}" if query else url


def test_the_basket_page_lists_every_component_with_pack_size_and_quantity(client):
    # given a 45-component basket, each product with its own pack size
    products = [
        grocery_create(
            title=f"Produit n°{i}", pack_size=f"{100 + i} g", category="Épicerie", cost="0.10"
        )
        for i in range(45)
    ]
    basket = themed_basket_create(
        title="Panier Essentiel",
        components={product: 1 + i % 3 for i, product in enumerate(products)},
        sizes={2: "90.00"},
        description="Tout l'essentiel de la semaine.",
    )
    # when the shopper opens it
    response = client.get(basket_url(basket))
    html = response.content.decode()
    # then the table has one row per component: name, pack size, quantity for 2 persons
    assert response.status_code == 200
    rows = re.findall(
        r'<th scope="row" class="composition-product">([^<]+?)\s*(?:<span[^>]*>[^<]*</span>)?</th>'
        r"\s*<td>([^<]*)</td>\s*<td class=\"composition-quantity\">(\d+)</td>",
        html,
    )
    assert len(rows) == 45
    assert sorted(rows) == sorted(
        (f"Produit n°{i}", f"{100 + i} g", str((1 + i % 3) * 2)) for i in range(45)
    )
    text = page_text(response)
    assert "45 produits différents." in text
    assert "Tout l'essentiel de la semaine." in text
    assert "Trois repas par jour pendant 7 jours." in text
    assert "Épicerie" in text  # rows grouped by aisle


def test_the_basket_page_shows_the_price_per_person_per_day(client, shop):
    # given 62 € for 2 persons over 7 days
    text = page_text(client.get(basket_url(shop.vegetarian)))
    expected = (Decimal("62.00") / (2 * 7)).quantize(Decimal("0.01"))  # 4.428… → 4.43
    assert expected == Decimal("4.43")
    assert euros("62,00 € pour 2 personnes") in text
    assert euros("soit 4,43 € par personne et par jour") in text
    assert "Végétarien" in text


@pytest.mark.parametrize(
    ("price", "persons", "days", "expected"),
    [
        ("8.25", 2, 5, "0.83"),  # 0.825 exactly: half-up, not half-even (0.82)
        ("60.00", 2, 7, "4.29"),  # 4.2857…
        ("100.00", 4, 7, "3.57"),  # 3.5714…
        ("35.00", 1, 7, "5.00"),
        ("0.01", 12, 31, "0.00"),
    ],
)
def test_price_per_person_day_is_decimal_rounded_half_up(price, persons, days, expected):
    result = price_per_person_day(price=Decimal(price), persons=persons, days=days)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2


def test_half_cents_round_up_on_the_page(client):
    product = grocery_create(cost="0.10")
    basket = themed_basket_create(components={product: 1}, sizes={2: "8.25"}, days=5)
    assert euros("soit 0,83 € par personne et par jour") in page_text(
        client.get(basket_url(basket))
    )


def test_the_default_size_is_two_persons_else_the_smallest(client, shop):
    # the vegetarian basket is sold for 1 and 2 persons: 2 is shown first
    assert basket_page(product_id=shop.vegetarian.product_id).selected.persons == 2
    # a basket sold for 3 and 4 persons opens on 3
    product = grocery_create()
    basket = themed_basket_create(components={product: 1}, sizes={4: "80.00", 3: "65.00"})
    text = page_text(client.get(basket_url(basket)))
    assert euros("65,00 € pour 3 personnes") in text


def test_choosing_a_household_size_switches_variant(client, shop):
    # given the omnivore basket in 2 and 4 persons
    four = shop.omnivore.variants.get(persons=4)
    # when the shopper picks 4 persons
    response = client.get(basket_url(shop.omnivore, "persons=4"))
    html, text = response.content.decode(), page_text(response)
    # then the page shows that size: its price, its per person-day price, its composition
    assert euros("100,00 € pour 4 personnes") in text
    assert euros("soit 3,57 € par personne et par jour") in text
    assert "Ce qu'il contient, pour 4 personnes" in text
    assert '<td class="composition-quantity">4</td>' in html
    assert f'action="/basket/add/{four.product_id}/"' in html
    # and the switch marks it as the current one, the others being plain links
    assert re.search(r'\?persons=4" aria-current="page">\s*4 personnes', html)
    assert re.search(r'\?persons=2">\s*2 personnes', html)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "persons=3",
            "Ce panier n'est pas proposé pour un foyer de 3 : le voici pour 2 personnes.",
        ),
        (
            "persons=abc",
            "« abc » n'est pas une taille de foyer : voici le panier pour 2 personnes.",
        ),
        ("persons=-1", "« -1 » n'est pas une taille de foyer"),
    ],
)
def test_an_unknown_size_on_the_basket_page_falls_back_with_a_message(client, shop, query, message):
    response = client.get(basket_url(shop.omnivore, query))
    assert response.status_code == 200
    assert message in page_text(response)
    assert euros("60,00 € pour 2 personnes") in page_text(response)


def test_the_add_form_puts_the_selected_variant_in_the_cart(client, shop):
    four = shop.omnivore.variants.get(persons=4)
    html = client.get(basket_url(shop.omnivore, "persons=4")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="basket-add-quantity">Quantité</label>' in html
    # when the shopper submits it
    response = client.post(f"/basket/add/{four.product_id}/", {"quantity": 1})
    # then the 4-person variant is in their cart
    assert response.status_code == 302
    assert list(Line.objects.values_list("product_id", "quantity")) == [(four.product_id, 1)]


def test_a_withdrawn_size_is_neither_offered_nor_added(client, shop):
    # given the 4-person omnivore basket withdrawn from sale
    four = shop.omnivore.variants.get(persons=4)
    basket_variant_withdraw(variant_id=four.pk)
    # then the page no longer offers it, even when asked for
    response = client.get(basket_url(shop.omnivore, "persons=4"))
    html = response.content.decode()
    assert "?persons=4" not in html
    assert f"/basket/add/{four.product_id}/" not in html
    assert "n'est pas proposé pour un foyer de 4" in page_text(response)
    # the list no longer offers 4 persons at all
    listed = client.get("/paniers/?persons=4")
    assert '<option value="4"' not in listed.content.decode()
    assert "« 4 » n'est pas une taille de foyer que nous proposons" in page_text(listed)
    # and a forged add-to-cart is refused by Oscar's strategy
    client.post(f"/basket/add/{four.product_id}/", {"quantity": 1})
    assert not Line.objects.filter(product_id=four.product_id).exists()


def test_the_page_says_unavailable_when_the_strategy_refuses(client, shop):
    # given baskets whose stock is tracked, and none left of the 2-person omnivore
    ProductClass.objects.filter(slug=BASKET_CLASS_SLUG).update(track_stock=True)
    two = shop.omnivore.variants.get(persons=2)
    StockRecord.objects.filter(product_id=two.product_id).update(num_in_stock=0)
    # then its page shows Oscar's reason instead of the add form
    response = client.get(basket_url(shop.omnivore))
    html = response.content.decode()
    assert f"/basket/add/{two.product_id}/" not in html
    assert 'class="basket-unavailable"' in html


def test_unknown_unpublished_and_grocery_pages_are_not_found(client, shop):
    assert client.get(basket_url(shop.draft)).status_code == 404
    assert client.get("/paniers/panier-999999/").status_code == 404
    assert client.get("/paniers/panier-99999999999999999999999/").status_code == 404
    grocery = grocery_create()
    assert client.get(f"/paniers/{grocery.slug}-{grocery.pk}/").status_code == 404


def test_an_old_slug_redirects_to_the_basket_address(client, shop):
    response = client.get(f"/paniers/ancien-nom-{shop.omnivore.product_id}/?persons=4")
    assert response.status_code == 301
    assert response["Location"] == basket_url(shop.omnivore, "persons=4")


def test_the_basket_page_includes_the_postcode_check(client, shop):
    assert 'class="delivery-check' in client.get(basket_url(shop.omnivore)).content.decode()


# --- Languages ---


def test_french_is_the_default_language(client, shop):
    response = client.get("/paniers/")
    assert '<html lang="fr"' in response.content.decode()
    text = page_text(response)
    for french in (
        "Nos paniers",
        "Trouvez votre panier",
        "Taille du foyer",
        "Afficher les paniers",
    ):
        assert french in text


def test_english_lives_under_en(client, shop):
    response = client.get("/en/paniers/?persons=4")
    text = page_text(response)
    assert '<html lang="en"' in response.content.decode()
    assert "Our baskets" in text
    assert "€100.00 for 4 persons" in text
    assert "€3.57 per person per day" in text
    assert "/en/paniers/" in response.content.decode()
    product = shop.vegetarian.product
    detail = page_text(client.get(f"/en/paniers/{product.slug}-{product.pk}/"))
    assert "What is inside, for 2 persons" in detail
    assert "Vegetarian" in detail


# --- Speed: a constant number of queries ---


def count_queries(client, url: str) -> int:
    client.get(url)  # warm up per-process caches (site, category tree, content types)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_both_pages_cost_the_same_queries_for_2_or_10_baskets(client):
    # given 2 baskets, each of 3 sizes and 5 components
    products = groceries_create(count=40, category="Épicerie", cost="0.10")
    theme = basket_theme_create(slug="essentiel")

    def add_baskets(n: int, components: int) -> ThemedBasket:
        for _ in range(n):
            basket = themed_basket_create(
                theme=theme,
                components=dict.fromkeys(products[:components], 1),
                sizes={1: "40.00", 2: "70.00", 4: "120.00"},
                diets={"vegetarian"},
            )
        return basket

    last = add_baskets(2, 5)
    list_url, filtered = "/paniers/", "/paniers/?theme=essentiel&diet=vegetarian&persons=2"
    few = [count_queries(client, url) for url in (list_url, filtered, basket_url(last))]
    # when there are 10 baskets, the last of 40 components
    add_baskets(7, 5)
    last = add_baskets(1, 40)
    many = [count_queries(client, url) for url in (list_url, filtered, basket_url(last))]
    # then every page costs exactly as many queries as before
    assert many == few
    assert max(many) <= 12


def test_the_selectors_alone_cost_one_and_two_queries(shop, django_assert_num_queries):
    with django_assert_num_queries(1):
        cards = baskets_for_sale(theme="essentiel", diets=["vegetarian"], persons=2)
    assert [card.title for card in cards] == ["Panier végétarien"]
    with django_assert_num_queries(2):
        page = basket_page(product_id=shop.omnivore.product_id, persons=4)
    assert page is not None
    assert len(page.components) == 4


# --- With the demo assortment ---


def test_the_demo_baskets_can_be_found_by_diet_and_household_size(client):
    from django.core.management import call_command

    # given the demo shop
    call_command("load_demo", verbosity=0)
    # then its seven baskets are on the home page
    assert len(listed_titles(client.get(client.get("/")["Location"]))) == 7
    # a halal household of 4 finds the halal Essentiel basket
    assert listed_titles(client.get("/paniers/?diet=halal&persons=4")) == [
        "Panier Essentiel halal",
        "Panier Fruits & légumes",  # every diet
    ]
    assert listed_titles(client.get("/paniers/?diet=halal&persons=4&theme=essentiel")) == [
        "Panier Essentiel halal"
    ]
    # and its page lists its 40+ components with their pack sizes from the assortment
    basket = ThemedBasket.objects.select_related("product").get(product__upc="PAN-ESS-HAL")
    response = client.get(basket_url(basket, "persons=4"))
    html = response.content.decode()
    assert html.count('<th scope="row" class="composition-product">') >= 40
    assert "<td>500 g</td>" in html  # Spaghetti n°5, 500 g
    assert "Halal" in page_text(response)


# --- [Supply] a size that cannot be supplied is not sold for that date ---


def _supply_basket(*, rice_stock: int, committed: dict | None = None, subscribers: int = 0):
    """A basket of 2 rice (size 2) with ``rice_stock`` in the warehouse, per-week commitments
    and ``subscribers`` weekly subscribers of 1 basket in Paris 13e (Tuesdays), forecast run."""
    from supply.services.forecast import supply_forecast_refresh
    from tests.baskets.conftest import make_grocery, make_variant
    from tests.baskets.subscription_factories import BEFORE_CUTOFF, subscription_create
    from tests.delivery.factories import paris_13e
    from tests.supply.factories import commitment_set, stock_set

    rice = make_grocery("Riz rond")
    stock_set(rice, rice_stock)
    for day, units in (committed or {}).items():
        commitment_set(rice, day, units)
    variant = make_variant(components={rice: 2})
    district = paris_13e()
    for _ in range(subscribers):
        subscription_create(variant=variant, district=district)
    supply_forecast_refresh(now=BEFORE_CUTOFF)
    return variant, district


def _basket_page(client, variant, district=None):
    from delivery.shipping import SESSION_DISTRICT_KEY

    if district is not None:
        session = client.session
        session[SESSION_DISTRICT_KEY] = district.pk
        session.save()
    return client.get(basket_url(variant.themed_basket, f"persons={variant.persons}"))


def test_a_size_short_for_the_next_delivery_offers_the_next_servable_date_or_the_waitlist(client):
    from datetime import date

    import time_machine

    from tests.baskets.subscription_factories import BEFORE_CUTOFF

    with time_machine.travel(BEFORE_CUTOFF, tick=False):
        # given nothing in stock for the week of 7 December, 10 rice committed from the 14th
        variant, district = _supply_basket(
            rice_stock=0, committed={date(2026, 12, 14): 10, date(2026, 12, 21): 10}
        )
        # when a shopper of Paris 13e (Tuesdays) opens the basket
        response = _basket_page(client, variant, district)
        text = page_text(response)
        html = response.content.decode()
        # then it is not sold for Tuesday 8 December: no add-to-cart form
        assert response.status_code == 200
        assert "basket-add-form" not in html
        assert "Non disponible pour la livraison du mardi 8 décembre" in text
        assert "« Riz rond »" in text
        # and the next delivery that can be served is offered, with when orders open for it
        assert "mardi 15 décembre" in text
        assert "dimanche 6 décembre, 12:00" in text
        # and the basket's waiting list
        assert f"/approvisionnement/liste-attente/{variant.pk}/" in html
        # when no postcode was checked, the page speaks in weeks
        from django.test import Client

        anonymous = page_text(_basket_page(Client(), variant))
        assert "semaine du 7 décembre" in anonymous


def test_a_capped_size_is_sold_just_once_and_offers_the_waitlist_for_weekly(client):
    from datetime import date

    import time_machine

    from supply.models import VariantSupplyCap
    from tests.baskets.subscription_factories import BEFORE_CUTOFF

    with time_machine.travel(BEFORE_CUTOFF, tick=False):
        # given 3 rice in stock, nothing committed: the 8th can take one basket, later weeks none
        variant, district = _supply_basket(rice_stock=3)
        response = _basket_page(client, variant, district)
        html = response.content.decode()
        # then « Just once » is on sale for the 8th, « Every week » is closed with the reason
        assert "basket-add-form" in html
        assert re.search(r'id="basket-frequency-weekly" value="weekly" disabled', html)
        assert re.search(r'id="basket-frequency-once" value="once" checked', html)
        assert "nouveaux abonnés" in page_text(response)
        assert "« Riz rond » pour la semaine du 14 décembre 2026" in page_text(response)
        assert f"/approvisionnement/liste-attente/{variant.pk}/" in html
        # given plenty committed every week, it is open to subscribers again
        from tests.supply.factories import commitment_set

        rice = variant.components.get().product
        for week in (date(2026, 12, 7), date(2026, 12, 14), date(2026, 12, 21)):
            commitment_set(rice, week, 50)
        VariantSupplyCap.objects.filter(variant=variant).update(auto_capped=False)
        html = _basket_page(client, variant, district).content.decode()
        assert re.search(r'id="basket-frequency-weekly" value="weekly" checked', html)
        # and a manual cap by staff closes it again
        VariantSupplyCap.objects.filter(variant=variant).update(max_subscriptions=0)
        html = _basket_page(client, variant, district).content.decode()
        assert re.search(r'id="basket-frequency-weekly" value="weekly" disabled', html)


def test_the_storefront_pages_only_read_so_run_outside_a_transaction():
    # ATOMIC_REQUESTS would wrap each in a BEGIN and a COMMIT: two round trips for nothing
    from baskets.views import basket_detail, basket_list

    assert basket_list._non_atomic_requests == {"default"}
    assert basket_detail._non_atomic_requests == {"default"}


def test_a_component_in_two_aisles_is_listed_once_with_its_own_pack_size_and_brand(db):
    from oscar.apps.catalogue.categories import create_from_breadcrumbs
    from oscar.apps.catalogue.models import ProductCategory

    # given a basket of rice (in two aisles), lentils (no brand) and salt (no aisle)
    rice = grocery_create(title="Riz", pack_size="1 kg", brand="Rizière", category="Épicerie")
    ProductCategory.objects.create(product=rice, category=create_from_breadcrumbs("Bio"))
    lentils = grocery_create(title="Lentilles", pack_size="500 g", brand="", category="Épicerie")
    salt = grocery_create(title="Sel", pack_size="", brand="Salins")
    basket = themed_basket_create(components={rice: 2, lentils: 1, salt: 1})
    # when its page is read
    page = basket_page(product_id=basket.product_id)
    # then each component once, under its first aisle by name, the aisle-less last
    assert [
        (line.aisle, line.title, line.pack_size, line.brand, line.quantity)
        for line in page.components
    ] == [
        ("Bio", "Riz", "1 kg", "Rizière", 4),
        ("Épicerie", "Lentilles", "500 g", "", 2),
        ("", "Sel", "", "Salins", 2),
    ]


# --- The list's rows (rows_for_sale: one query for the cards and the filters) ---

# The column of the list's query that each of SaleRow's fields holds.
SALE_ROW_COLUMNS = {
    "variant_id": "pk",
    "product_id": "product_id",
    "persons": "persons",
    "price": "price",
    "basket_id": "themed_basket_id",
    "basket_product_id": "themed_basket__product_id",
    "title": "themed_basket__product__title",
    "slug": "themed_basket__product__slug",
    "theme_name": "themed_basket__theme__name",
    "theme_slug": "themed_basket__theme__slug",
    "days": "themed_basket__days",
    **{code: f"themed_basket__{code}" for code in Diet.values},
}


def test_the_lists_rows_are_its_querys_rows_field_by_field(shop):
    # when the list's rows are read, and its query evaluated by Django as a values() queryset
    rows = rows_for_sale()
    evaluated = list(_rows_for_sale_query())
    # then each row holds each column in its field (one stock record each here)
    assert SaleRow._fields == tuple(SALE_ROW_COLUMNS)
    assert tuple(evaluated[0]) == tuple(SALE_ROW_COLUMNS.values())
    assert rows == [
        SaleRow(**{field: values[column] for field, column in SALE_ROW_COLUMNS.items()})
        for values in evaluated
    ]
    assert [(row.title, row.persons, row.price, row.vegetarian) for row in rows] == [
        ("Panier omnivore", 2, Decimal("60.00"), False),
        ("Panier omnivore", 4, Decimal("100.00"), False),
        ("Panier végétarien", 1, Decimal("35.00"), True),
        ("Panier végétarien", 2, Decimal("62.00"), True),
        ("Panier fromager", 2, Decimal("40.00"), True),
        ("Panier fromager", 3, Decimal("55.00"), True),
    ]


def test_a_sizes_first_stock_record_prices_it_on_the_list(client, shop):
    from oscar.apps.partner.models import Partner

    # given a second stock record, cheaper, for each of the omnivore basket's sizes
    other = Partner.objects.create(name="Autre entrepôt")
    for n, variant in enumerate(shop.omnivore.variants.order_by("persons")):
        StockRecord.objects.create(
            product_id=variant.product_id, partner=other, partner_sku=f"O-{n}", price="1.00"
        )
    # and the 4-person size's first one without a price (not for sale)
    four = shop.omnivore.variants.get(persons=4)
    first = StockRecord.objects.filter(product_id=four.product_id).order_by("pk").first()
    StockRecord.objects.filter(pk=first.pk).update(price=None)
    # when the list is read
    rows = [row for row in rows_for_sale() if row.basket_id == shop.omnivore.pk]
    # then the 2-person size at its first record's price, the 4-person size not at all
    assert [(row.persons, row.price) for row in rows] == [(2, Decimal("60.00"))]
    assert list(baskets_for_sale(persons=4)) == []
    assert euros("à partir de 60,00 €") in page_text(client.get("/paniers/?theme=essentiel"))


def test_two_baskets_with_the_same_title_are_two_cards(client, shop):
    # given another basket with the same title in the same theme, sold for 5
    rice = grocery_create(title="Riz")
    twin = themed_basket_create(
        title="Panier omnivore", theme=shop.essentiel, components={rice: 1}, sizes={5: "90.00"}
    )
    # when the list is read
    cards = baskets_for_sale()
    # then each basket is a card with its own sizes (the later one second), and the size
    # filter tells them apart
    assert [(card.product_id, card.sizes) for card in cards[:3]] == [
        (shop.omnivore.product_id, [2, 4]),
        (twin.product_id, [5]),
        (shop.vegetarian.product_id, [1, 2]),
    ]
    assert [card.product_id for card in baskets_for_sale(persons=5)] == [twin.product_id]
