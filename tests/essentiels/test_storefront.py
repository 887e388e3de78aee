import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oscar.apps.analytics.models import ProductRecord
from oscar.test.factories import create_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_shop():
    call_command("load_demo", verbosity=0)


def test_home_leads_to_the_catalogue(client):
    # The shop's home is the basket list ([Baskets] storefront); the catalogue stays reachable.
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/paniers/"
    assert client.get("/catalogue/").status_code == 200


def test_catalogue_renders_in_french_with_the_demo_assortment(client, demo_shop):
    response = client.get("/catalogue/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr"' in html
    assert "Tous les produits" in html
    assert "241</strong> résultats" in html  # 234 groceries and 7 baskets
    assert "Vendu uniquement dans nos paniers" in html  # groceries are not sold alone
    assert re.search(r"<p class=\"price_color\">\d+,\d\d\s€</p>", html)  # French money format


def test_catalogue_speaks_english_under_en(client, demo_shop):
    html = client.get("/en/catalogue/").content.decode()
    assert "All products" in html
    assert "Sold only in our baskets" in html


def test_category_page_lists_only_that_category(client, demo_shop):
    from oscar.apps.catalogue.models import Category

    cheeses = Category.objects.get(name="Fromages")
    response = client.get(cheeses.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Comté" in html
    assert "Spaghetti" not in html


def test_sorting_by_price_and_bad_page_numbers(client, demo_shop):
    from oscar.apps.catalogue.models import Category

    groceries = Category.objects.get(name="Épicerie salée")
    html = client.get(f"{groceries.get_absolute_url()}?sort_by=price-desc").content.decode()
    prices = [
        float(euros.replace(",", "."))
        for euros in re.findall(r'<p class="price_color">(\d+,\d\d)\s€</p>', html)
    ]
    assert len(prices) == 24
    assert prices == sorted(prices, reverse=True)
    response = client.get("/catalogue/?page=999")
    assert response.status_code == 302  # back to the first page, with a message


def test_product_page_renders(client, demo_shop):
    from oscar.apps.catalogue.models import Product

    product = Product.objects.get(upc="EPS-001")
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    assert "Spaghetti n°5" in response.content.decode()


def test_catalogue_query_count_does_not_grow_with_products(client):
    # given a catalogue of 5 products, then of 20
    def queries_for_page() -> int:
        client.get("/catalogue/")  # warm the per-process caches (site, category tree)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/catalogue/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(5):
        create_product(title=f"Produit {i}", price="1.00", num_in_stock=10)
    few = queries_for_page()
    for i in range(5, 20):
        create_product(title=f"Produit {i}", price="1.00", num_in_stock=10)
    many = queries_for_page()
    # then the page costs the same number of queries (no N+1), far from stock Oscar's 124
    assert many == few
    assert many < 40


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_views_of_a_product_all_succeed(live_server):
    # given a product nobody has viewed yet
    product = create_product(title="Lentilles corail", price="1.50", num_in_stock=5)
    url = live_server.url + product.get_absolute_url()
    # when eight shoppers open it at the same moment (threaded server, one transaction each)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: requests.get(url, timeout=30).status_code, range(8)))
    # then every one gets the page (stock Oscar answered 500 to some) and every view is counted
    assert statuses == [200] * 8
    assert ProductRecord.objects.get(product=product).num_views == 8


def test_oscar_s_cart_is_ma_commande_so_panier_only_means_a_basket(client):
    # Oscar translates its cart as « panier », the word for what we sell: overridden in
    # locale_oscar/, which makemessages does not rewrite.
    html = client.get("/catalogue/").content.decode()
    assert "Voir ma commande" in html
    assert "Voir le panier" not in html
