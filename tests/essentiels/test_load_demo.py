from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from oscar.apps.catalogue.models import (
    Category,
    Product,
    ProductAttributeValue,
    ProductCategory,
    ProductClass,
)

from baskets.models import BasketComponent, BasketTheme, BasketVariant, GroceryDiets, ThemedBasket
from essentiels.demo.assortment import assortment_rows
from essentiels.oscar_forks.partner.models import Partner, StockRecord

COUNTED = [
    Product,
    StockRecord,
    Category,
    ProductCategory,
    ProductAttributeValue,
    ProductClass,
    Partner,
    GroceryDiets,
    BasketTheme,
    ThemedBasket,
    BasketVariant,
    BasketComponent,
]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_demo_file_is_a_believable_assortment():
    rows = assortment_rows()
    assert len(rows) >= 150
    assert len({row.sku for row in rows}) == len(rows)
    top_level = {row.category.split(">")[0].strip() for row in rows}
    assert {
        "Épicerie salée",
        "Épicerie sucrée",
        "Conserves",
        "Produits frais",
        "Boissons",
    } <= top_level
    for row in rows:
        assert isinstance(row.price_incl_tax, Decimal)
        assert Decimal("0") < row.cost_price < row.price_incl_tax, row.sku


@pytest.mark.django_db
def test_load_demo_twice_creates_nothing_twice():
    # given the demo loaded once
    call_command("load_demo", verbosity=0)
    first = counts()
    stock = StockRecord.objects.get(partner_sku="EPS-001")
    stock.num_in_stock = 7  # as if orders had consumed stock
    stock.save()
    # when it is loaded again
    call_command("load_demo", verbosity=0)
    # then nothing was created twice and stock levels were not reset
    assert counts() == first
    assert first["GroceryDiets"] == len(assortment_rows())
    assert StockRecord.objects.get(partner_sku="EPS-001").num_in_stock == 7


@pytest.mark.django_db
def test_every_demo_product_is_for_sale_in_euros():
    call_command("load_demo", verbosity=0)
    product = Product.objects.get(upc="EPS-001")
    assert product.title == "Spaghetti n°5"
    assert product.attr.pack_size == "500 g"
    record = product.stockrecords.get()
    assert record.price_currency == "EUR"
    assert record.price == Decimal("0.89")
    assert record.cost_price == Decimal("0.52")
    assert not StockRecord.objects.filter(price__isnull=True).exists()


@pytest.mark.django_db
def test_demo_admin_is_refused_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG only"):
        call_command("load_demo", "--admin", verbosity=0)


@pytest.mark.django_db
def test_demo_baskets_are_all_valid_and_cover_the_themes():
    call_command("load_demo", verbosity=0)
    variants = BasketVariant.objects.select_related("themed_basket__theme", "product")
    assert variants.count() >= 12
    assert all(v.is_valid and v.product.is_public for v in variants)
    baskets = ThemedBasket.objects.select_related("theme")
    assert baskets.count() >= 6
    assert baskets.filter(vegetarian=True).exists()
    assert baskets.filter(halal=True).exists()
    for basket in baskets:
        assert 2 <= basket.variants.count() <= 3
    essentiels = variants.filter(themed_basket__theme__slug="essentiel")
    assert essentiels.exists()
    assert all(v.distinct_components >= 40 for v in essentiels)
    assert all(v.cost_per_person_day <= Decimal("5.00") for v in variants)


@pytest.mark.django_db
def test_the_demo_ships_to_france():
    from oscar.apps.address.models import Country

    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)
    assert list(
        Country.objects.filter(is_shipping_country=True).values_list("iso_3166_1_a2", flat=True)
    ) == ["FR"]


@pytest.mark.django_db
def test_the_demo_fleet_lets_a_date_be_planned():
    from delivery.routing.models import Bus, Depot

    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)
    # one depot and four buses of 100 baskets working Monday to Friday, created once
    assert list(Depot.objects.values_list("name", flat=True)) == ["Rungis"]
    buses = list(Bus.objects.order_by("name"))
    assert [b.capacity for b in buses] == [100, 100, 100, 100]
    assert all(b.weekdays == [0, 1, 2, 3, 4] and b.is_active for b in buses)
