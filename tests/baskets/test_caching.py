"""Anonymous storefront pages from the cache (baskets.page_cache): served without SQL, never
with another visitor's cart, messages or CSRF token, with a working add-to-cart form, in the
right language, and rendered again exactly when what they show changes.

These tests commit (``transaction=True``): invalidation happens when a change is committed, as in
production, and a request whose own transaction has uncommitted changes never uses the cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from oscar.apps.basket.models import Line
from oscar.apps.catalogue.models import Category, Product

from baskets.models import BasketComponent, BasketTheme, ThemedBasket
from baskets.page_cache import CACHE_HEADER, CSRF_HOLE
from baskets.services.rules import basket_variant_withdraw
from essentiels.oscar_forks.partner.models import StockRecord
from tests.baskets.factories import (
    ALL_DIETS,
    basket_theme_create,
    grocery_create,
    themed_basket_create,
)
from tests.baskets.test_storefront import basket_url, listed_titles, page_text

cached = pytest.mark.django_db(transaction=True)

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NONCE = re.compile(r'nonce="[^"]*"')


@dataclass
class Shop:
    theme: BasketTheme
    rice: Product
    omnivore: ThemedBasket
    vegetarian: ThemedBasket


@pytest.fixture
def shop() -> Shop:
    # given two baskets on sale, committed (each factory call commits on its own)
    theme = basket_theme_create(name="Essentiel", slug="essentiel")
    rice = grocery_create(title="Riz long", cost="0.50", category="Épicerie")
    pasta = grocery_create(title="Pâtes", cost="0.50", category="Épicerie")
    omnivore = themed_basket_create(
        title="Panier omnivore", theme=theme, components={rice: 1}, sizes={2: "60.00"}
    )
    vegetarian = themed_basket_create(
        title="Panier végétarien",
        theme=theme,
        diets={"vegetarian"},
        components={pasta: 1},
        sizes={2: "62.00", 4: "110.00"},
    )
    return Shop(theme, rice, omnivore, vegetarian)


def source(response) -> str:
    return response.headers.get(CACHE_HEADER, "")


def token_of(response) -> str:
    tokens = set(TOKEN.findall(response.content.decode()))
    assert len(tokens) == 1, tokens  # the language form and the add-to-cart form share it
    return tokens.pop()


def same_page(one, other) -> bool:
    def bare(response) -> str:
        return NONCE.sub("", TOKEN.sub("", response.content.decode()))

    return bare(one) == bare(other)


def messages_block(response) -> str:
    return re.search(r'<div id="messages">(.*?)</div>\s*\n', response.content.decode(), re.S)[1]


# --- Served from the cache, without SQL ---


@cached
def test_the_list_and_a_basket_page_are_served_from_the_cache_without_sql(shop):
    visitor = Client()
    for url in ("/paniers/", basket_url(shop.omnivore)):
        # when a first anonymous visitor opens the page, it is rendered and stored
        first = visitor.get(url)
        assert (first.status_code, source(first)) == (200, "miss")
        # then the next one gets it from the cache without a single SQL query
        with CaptureQueriesContext(connection) as queries:
            again = Client().get(url)
        assert (again.status_code, source(again)) == (200, "hit")
        assert len(queries) == 0
        # the same page, but for the CSRF token (and the CSP nonce)
        assert same_page(again, first)
        assert again["Cache-Control"] == "private"


@cached
def test_pages_are_cached_per_language_and_query_but_not_per_tracking_parameter(shop):
    assert source(Client().get("/paniers/")) == "miss"
    english = Client().get("/en/paniers/")
    assert source(english) == "miss"
    assert "Our baskets" in page_text(english)
    # a browser asking for English on the French address still gets the French page
    french = Client().get("/paniers/", HTTP_ACCEPT_LANGUAGE="en")
    assert source(french) == "hit"
    assert '<html lang="fr"' in french.content.decode()
    assert "Nos paniers" in page_text(french)
    assert source(Client().get("/en/paniers/")) == "hit"
    # filters are pages of their own
    filtered = Client().get("/paniers/?diet=vegetarian")
    assert source(filtered) == "miss"
    assert listed_titles(filtered) == ["Panier végétarien"]
    assert source(Client().get(basket_url(shop.vegetarian, "persons=4"))) == "miss"
    four = Client().get(basket_url(shop.vegetarian, "persons=4"))
    assert source(four) == "hit"
    assert "110,00" in page_text(four)
    # a parameter the page does not read shares the entry and is never echoed back
    tagged = Client().get("/paniers/?diet=vegetarian&utm_source=newsletter-evil")
    assert source(tagged) == "hit"
    assert "newsletter-evil" not in tagged.content.decode()


@cached
def test_the_response_varies_only_on_what_the_key_covers(shop):
    # The key holds the language; cookies matter only for personal pages, never cached. A new
    # Vary header (say User-Agent) would need to go into the key: this test then fails.
    for url in ("/paniers/", "/en/paniers/", basket_url(shop.omnivore)):
        for response in (Client().get(url), Client().get(url)):
            vary = {part.strip() for part in response.get("Vary", "").split(",") if part.strip()}
            assert vary <= {"Accept-Language", "Cookie"}, (url, vary)


# --- CSRF: each visitor's own token, and the cached form still posts ---


@cached
def test_a_cached_page_carries_each_visitors_own_csrf_token_and_its_form_posts(shop):
    url = basket_url(shop.omnivore)
    add_url = f"/basket/add/{shop.omnivore.variants.get().product_id}/"
    a = Client(enforce_csrf_checks=True)
    b = Client(enforce_csrf_checks=True)
    # given visitor A rendered the page (and got a CSRF cookie with it)
    page_a = a.get(url)
    assert source(page_a) == "miss"
    token_a = token_of(page_a)
    assert "csrftoken" in page_a.cookies
    # when visitor B, who has no cookie yet, gets the page from the cache
    page_b = b.get(url)
    assert source(page_b) == "hit"
    token_b = token_of(page_b)
    # then B's page has B's own token, set with B's own cookie, and never the placeholder
    assert token_b != token_a
    assert page_b.cookies["csrftoken"].value != page_a.cookies["csrftoken"].value
    assert CSRF_HOLE not in page_b.content.decode()
    # A's token is worthless to B: refused
    assert b.post(add_url, {"quantity": 1, "csrfmiddlewaretoken": token_a}).status_code == 403
    assert not Line.objects.exists()
    # B's form from the cached page posts: the basket goes in B's cart
    response = b.post(add_url, {"quantity": 1, "csrfmiddlewaretoken": token_b})
    assert response.status_code == 302
    assert Line.objects.count() == 1
    # and a visitor who already has a CSRF cookie gets a token for that cookie
    page_a_again = a.get("/paniers/")
    assert source(page_a_again) == "miss"
    assert a.get("/paniers/").status_code == 200
    cached_again = a.get(url)
    assert source(cached_again) == "hit"
    response = a.post(add_url, {"quantity": 1, "csrfmiddlewaretoken": token_of(cached_again)})
    assert response.status_code == 302


@cached
def test_the_stored_html_never_holds_a_token(shop):
    Client().get("/paniers/")
    Client().get(basket_url(shop.omnivore))
    entries = [cache.get(key.removeprefix(cache_key_prefix())) for key in page_keys()]
    assert len(entries) == 4  # a shell and an anonymous page for each
    for entry in entries:
        html, parts = entry[2], entry[5:]  # a shell also keeps everyone's parts
        for text in (html, *(part for found in parts if found for part in found.values())):
            # every form's token is the placeholder
            assert TOKEN.findall(text) == [CSRF_HOLE] * len(TOKEN.findall(text))
        # and the anonymous pages have forms
        assert len(entry) == 6 or CSRF_HOLE in html


def cache_key_prefix() -> str:
    return cache.make_key("")


def page_keys() -> list[str]:
    client = cache.client.get_client()
    return [key.decode() for key in client.keys(cache.make_key("storefront:page:*"))]


# --- Carts, messages and accounts never leak ---


@cached
def test_a_shoppers_cart_and_message_are_theirs_alone(shop):
    url = "/paniers/"
    variant = shop.vegetarian.variants.get(persons=4)
    a, b = Client(), Client()
    assert source(a.get(url)) == "miss"
    # when visitor A adds a basket to their cart (Oscar says so in a message)
    a.post(f"/basket/add/{variant.product_id}/", {"quantity": 1})
    # then A's next page is the cached shell with A's own parts: their message and their cart
    page_a = a.get(url)
    assert source(page_a) == "shell"
    assert "Panier végétarien — 4 pers." in messages_block(page_a)
    assert "Total de la commande : 110,00" in page_text(page_a)  # the mini-cart, in the header
    # and B's page, from the cache, has neither
    page_b = b.get(url)
    assert source(page_b) == "hit"
    assert "alert" not in messages_block(page_b)
    assert "Panier végétarien — 4 pers." not in page_b.content.decode()
    assert "Total de la commande : 0,00" in page_text(page_b)
    assert "Votre commande est vide." in page_b.content.decode()
    # when A is the first to open a basket page, it is rendered (and its shell stored) for A
    page_a = a.get(basket_url(shop.omnivore))
    assert source(page_a) == "miss"
    assert "Total de la commande : 110,00" in page_text(page_a)
    # then B gets that page built from the shell, with B's empty cart, nothing of A's
    page_b = b.get(basket_url(shop.omnivore))
    assert source(page_b) == "shell"
    assert "Total de la commande : 0,00" in page_text(page_b)
    assert "Panier végétarien — 4 pers." not in page_b.content.decode()
    assert source(b.get(basket_url(shop.omnivore))) == "hit"


@cached
def test_a_visitor_with_a_message_waiting_gets_it_not_a_cached_page(shop):
    # given the list in the cache
    assert source(Client().get("/paniers/")) == "miss"
    # when a visitor with an empty cart has a message waiting (in Django's message cookie)
    visitor = Client()
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(constants.INFO, "Message pour vous seul")
    carrier = HttpResponse()
    storage.update(carrier)
    visitor.cookies["messages"] = carrier.cookies["messages"].value
    # then their page is the cached shell with their message in it
    page = visitor.get("/paniers/")
    assert source(page) == "shell"
    assert "Message pour vous seul" in messages_block(page)
    assert 'id="login_link"' in page.content.decode()
    assert "Votre commande est vide." in page.content.decode()
    # and nobody else ever sees it
    other = Client().get("/paniers/")
    assert source(other) == "hit"
    assert "Message pour vous seul" not in other.content.decode()


@cached
def test_a_logged_in_shopper_gets_their_own_account_links_and_leaves_none(shop):
    from oscar.test.factories import UserFactory

    shopper = Client()
    shopper.force_login(UserFactory(email="camille@example.org"))
    # given the cached anonymous page
    assert source(Client().get("/paniers/")) == "miss"
    # when a logged-in shopper opens it, it has their account links, not the anonymous ones
    own = shopper.get("/paniers/")
    assert source(own) == "shell"
    assert 'id="logout_link"' in own.content.decode()
    assert 'id="login_link"' not in own.content.decode()
    # and when the shopper is the one who renders a page, anonymous visitors never see an account
    cache.clear()
    assert source(shopper.get("/paniers/")) == "miss"
    anonymous = Client().get("/paniers/")
    assert source(anonymous) == "shell"  # the shell, with the anonymous visitor's parts
    assert 'id="logout_link"' not in anonymous.content.decode()
    assert 'id="login_link"' in anonymous.content.decode()


@cached
def test_a_checked_postcode_gets_the_basket_page_of_that_district(shop):
    from delivery.shipping import SESSION_DISTRICT_KEY
    from tests.delivery.factories import paris_13e

    def checked(district) -> Client:
        visitor = Client()
        session = visitor.session
        session[SESSION_DISTRICT_KEY] = district.pk
        session.save()
        return visitor

    district = paris_13e()
    url = basket_url(shop.omnivore)
    anywhere = Client().get(url)
    assert source(anywhere) == "miss"
    assert "chaque mardi" not in page_text(anywhere)
    # when a visitor who checked a Paris 13e postcode opens the basket page
    page = checked(district).get(url)
    # then it speaks of their district's day: a page of its own, cached for that district
    assert source(page) == "miss"
    assert "chaque mardi" in page_text(page)
    again = checked(district).get(url)
    assert source(again) == "hit"
    assert "chaque mardi" in page_text(again)
    assert source(Client().get(url)) == "hit"
    assert "chaque mardi" not in page_text(Client().get(url))
    # and the list, which shows nothing of the district, is the same for everyone
    assert source(checked(district).get("/paniers/")) == "miss"
    assert source(Client().get("/paniers/")) == "hit"


# --- Invalidation: exactly the pages whose price, composition, rule status or text changed ---


def warm(*urls: str) -> None:
    for url in urls:
        Client().get(url)
        assert source(Client().get(url)) == "hit", url


@cached
def test_a_price_change_renders_the_list_and_that_baskets_pages_again(shop):
    omnivore, vegetarian = basket_url(shop.omnivore), basket_url(shop.vegetarian)
    warm("/paniers/", omnivore, vegetarian)
    # when the back-office changes the omnivore basket's price (a stock record save, committed)
    record = StockRecord.objects.get(product__parent=shop.omnivore.product)
    record.price = Decimal("66.00")
    record.save()
    # then the list and that basket's page show it at once
    listed = Client().get("/paniers/")
    assert source(listed) == "miss"
    assert "66,00" in page_text(listed)
    page = Client().get(omnivore)
    assert source(page) == "miss"
    assert "66,00" in page_text(page)
    # and the other basket's page is still served from the cache
    assert source(Client().get(vegetarian)) == "hit"


@cached
def test_a_composition_change_renders_only_that_baskets_pages_again(shop):
    omnivore, vegetarian = basket_url(shop.omnivore), basket_url(shop.vegetarian)
    warm("/paniers/", omnivore, vegetarian)
    # when a component is added to the omnivore basket (an admin inline line)
    lentils = grocery_create(title="Lentilles vertes", cost="0.40")
    variant = shop.omnivore.variants.get()
    BasketComponent.objects.create(variant=variant, product=lentils, quantity=2)
    # then its page lists it
    page = Client().get(omnivore)
    assert source(page) == "miss"
    assert "Lentilles vertes" in page_text(page)
    # and the list (which shows no composition) and the other basket stay cached
    assert source(Client().get("/paniers/")) == "hit"
    assert source(Client().get(vegetarian)) == "hit"


@cached
def test_a_basket_withdrawn_by_a_rule_leaves_the_cached_list(shop):
    omnivore, vegetarian = basket_url(shop.omnivore), basket_url(shop.vegetarian)
    warm("/paniers/", omnivore, vegetarian)
    # when rice's cost rises past the €5 ceiling, the omnivore basket is withdrawn by the rules
    record = shop.rice.stockrecords.get()
    record.cost_price = Decimal("40.00")
    record.save()
    shop.omnivore.variants.get().refresh_from_db()
    # then it is gone from the list and its page
    listed = Client().get("/paniers/")
    assert source(listed) == "miss"
    assert listed_titles(listed) == ["Panier végétarien"]
    assert Client().get(omnivore).status_code == 404
    assert source(Client().get(vegetarian)) == "hit"


@cached
def test_withdrawing_and_publishing_a_size_is_shown_at_once(shop):
    from baskets.services.rules import basket_variant_publish

    url = basket_url(shop.vegetarian, "persons=4")
    warm("/paniers/?persons=4", url)
    four = shop.vegetarian.variants.get(persons=4)
    basket_variant_withdraw(variant_id=four.pk)
    page = Client().get(url)
    assert source(page) == "miss"
    assert "n'est pas proposé pour un foyer de 4" in page_text(page)
    # no basket is sold for 4 any more: the filter says so
    listed = Client().get("/paniers/?persons=4")
    assert source(listed) == "miss"
    assert "« 4 » n'est pas une taille de foyer que nous proposons" in page_text(listed)
    basket_variant_publish(variant_id=four.pk)
    assert "110,00" in page_text(Client().get(url))
    assert listed_titles(Client().get("/paniers/?persons=4")) == ["Panier végétarien"]


@cached
def test_a_component_renamed_or_a_theme_renamed_is_shown_at_once(shop):
    omnivore, vegetarian = basket_url(shop.omnivore), basket_url(shop.vegetarian)
    warm("/paniers/", omnivore, vegetarian)
    # a component's title is on its baskets' pages only
    shop.rice.title = "Riz basmati"
    shop.rice.save()
    assert "Riz basmati" in page_text(Client().get(omnivore))
    assert source(Client().get("/paniers/")) == "hit"
    assert source(Client().get(vegetarian)) == "hit"
    # a theme's name is on the list and on the pages of its baskets
    shop.theme.name = "L'essentiel"
    shop.theme.save()
    assert "L'essentiel" in page_text(Client().get("/paniers/"))
    assert source(Client().get(vegetarian)) == "miss"


@cached
def test_a_category_change_renders_every_page_again(shop):
    warm("/paniers/", basket_url(shop.omnivore))
    category = Category.objects.get(name="Épicerie")
    category.name = "Épicerie salée"
    category.save()
    assert source(Client().get("/paniers/")) == "miss"
    page = Client().get(basket_url(shop.omnivore))
    assert source(page) == "miss"
    assert "Épicerie salée" in page_text(page)


@cached
def test_a_transactions_own_uncommitted_change_is_never_hidden_by_the_cache(shop):
    warm("/paniers/")
    record = StockRecord.objects.get(product__parent=shop.omnivore.product)
    with transaction.atomic():
        # when a price changes inside a transaction not committed yet
        record.price = Decimal("70.00")
        record.save()
        # then a page read in that transaction shows it, rendered and not stored
        inside = Client().get("/paniers/")
        assert source(inside) == "bypass"
        assert "70,00" in page_text(inside)
    # and once committed, everyone gets it
    after = Client().get("/paniers/")
    assert source(after) == "miss"
    assert "70,00" in page_text(after)


@cached
def test_a_page_rendered_while_a_change_commits_is_never_served_stale(shop, monkeypatch):
    import baskets.views

    record = StockRecord.objects.get(product__parent=shop.omnivore.product)
    read = baskets.views.baskets_for_sale

    def read_then_change(**filters):
        # the page reads the old price, then a price change commits before it is stored
        cards = read(**filters)
        record.price = Decimal("77.00")
        record.save()
        return cards

    monkeypatch.setattr(baskets.views, "baskets_for_sale", read_then_change)
    raced = Client().get("/paniers/")
    assert source(raced) == "miss"
    assert "77,00" not in page_text(raced)  # rendered with the price it read
    monkeypatch.setattr(baskets.views, "baskets_for_sale", read)
    # then what was stored is never served: the next visitor gets the new price
    after = Client().get("/paniers/")
    assert source(after) == "miss"
    assert "77,00" in page_text(after)


@cached
def test_a_rolled_back_change_leaves_the_cache_serving_the_true_page(shop):
    warm("/paniers/")
    record = StockRecord.objects.get(product__parent=shop.omnivore.product)

    def change_then_fail() -> None:
        with transaction.atomic():
            record.price = Decimal("99.00")
            record.save()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    page = Client().get("/paniers/")
    assert source(page) in {"hit", "miss"}  # at worst rendered again once, never stale
    assert "99,00" not in page_text(page)


# --- Redis down: pages still served ---


@cached
def test_pages_are_served_when_redis_is_down(shop, settings):
    # A loopback port nothing listens on: django-redis logs and ignores the errors.
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:8899/0",
        }
    }
    for url in ("/paniers/", basket_url(shop.omnivore)):
        response = Client().get(url)
        assert response.status_code == 200
        assert "Panier omnivore" in page_text(response)


# --- Uncached pages: a constant, small number of queries ---


def queries_of(client, url: str) -> int:
    client.get(url)  # warm per-process caches (site, content types)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    assert source(response) == "bypass"
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.slow
def test_uncached_pages_cost_the_same_few_queries_for_5_or_60_baskets(client, settings):
    settings.STOREFRONT_LIST_CACHE_SECONDS = 0
    settings.STOREFRONT_BASKET_PAGE_CACHE_SECONDS = 0
    theme = basket_theme_create(slug="essentiel")
    products = [
        grocery_create(category="Épicerie", cost="0.10", diets=ALL_DIETS) for _ in range(12)
    ]
    built: list[ThemedBasket] = []

    def add_baskets(n: int) -> ThemedBasket:
        for i in range(n):
            window = [products[(len(built) + j) % len(products)] for j in range(8)]
            built.append(
                themed_basket_create(
                    theme=theme,
                    components=dict.fromkeys(window, 1),
                    sizes={1: "40.00", 2: "70.00", 4: "120.00"},
                    diets={"vegetarian"} if i % 2 else (),
                )
            )
        return built[-1]

    urls = ["/paniers/", "/paniers/?theme=essentiel&diet=vegetarian&persons=2&page=1"]
    last = add_baskets(5)
    few = [queries_of(client, url) for url in [*urls, basket_url(last, "persons=4")]]
    last = add_baskets(55)
    many = [queries_of(client, url) for url in [*urls, basket_url(last, "persons=4")]]
    assert many == few
    assert max(many) <= 12


def test_a_process_copy_is_served_only_with_the_current_tokens_and_before_its_expiry(monkeypatch):
    from baskets import page_cache

    pages = page_cache._LocalPages(size=2)
    now = 1_000.0
    monkeypatch.setattr(page_cache.time, "time", lambda: now)
    pages.put("a", ("v1", "w1", "<p>a</p>", "text/html", now + 60))
    # served while its tokens are the current ones
    assert pages.get("a", ("v1", "w1"))[2] == "<p>a</p>"
    # never once another server's change replaced a token in Redis
    assert pages.get("a", ("v2", "w1")) is None
    assert pages.get("a", (None, None)) is None  # Redis down: no tokens, no copy
    # never after its Redis entry would have expired
    now += 61
    assert pages.get("a", ("v1", "w1")) is None
    # and only the last pages served are kept
    pages.put("b", ("v", "w", "b", "text/html", now + 60))
    pages.put("c", ("v", "w", "c", "text/html", now + 60))
    pages.put("d", ("v", "w", "d", "text/html", now + 60))
    assert list(pages.entries) == ["c", "d"]
