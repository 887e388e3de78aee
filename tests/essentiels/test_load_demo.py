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
from oscar.apps.partner.models import Partner, StockRecord

from essentiels.demo.assortment import assortment_rows

COUNTED = [
    Product,
    StockRecord,
    Category,
    ProductCategory,
    ProductAttributeValue,
    ProductClass,
    Partner,
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
    assert first["Product"] == len(assortment_rows())
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
    assert not StockRecord.objects.filter(price__isnull=True).exists()


@pytest.mark.django_db
def test_demo_admin_is_refused_outside_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG only"):
        call_command("load_demo", "--admin", verbosity=0)
