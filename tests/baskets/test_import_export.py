"""Bulk cost/diet import: all rows or none, with a row-by-row report of the bad ones."""

from decimal import Decimal

import pytest
import tablib
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from baskets.import_export import GroceryCostResource
from baskets.models import BasketVariant, GroceryDiets
from essentiels.oscar_forks.partner.models import StockRecord
from tests.baskets.conftest import make_grocery, make_variant

pytestmark = pytest.mark.django_db
HEADERS = ["sku", "title", "price_incl_tax", "cost_price", "diets"]


def dataset(*rows):
    return tablib.Dataset(*rows, headers=HEADERS)


def sku(product):
    return StockRecord.objects.get(product=product).partner_sku


def test_export_lists_every_grocery_product_with_cost_and_diets():
    product = make_grocery("Riz", cost="1.09", price="1.89", diets={"vegan", "vegetarian"})
    exported = GroceryCostResource().export()
    row = dict(zip(exported.headers, exported[0], strict=True))
    assert row == {
        "sku": sku(product),
        "title": "Riz",
        "price_incl_tax": "1,89",
        "cost_price": "1,09",
        "diets": "vegetarian;vegan",
    }


def test_a_good_file_updates_costs_and_diets():
    product = make_grocery(cost="1.00", diets={"vegan"})
    result = GroceryCostResource().import_data(
        dataset([sku(product), "", "2,50", "1,20", "vegan;halal"]), dry_run=False
    )
    assert not result.has_errors()
    assert not result.has_validation_errors()
    record = StockRecord.objects.get(product=product)
    assert (record.price, record.cost_price) == (Decimal("2.50"), Decimal("1.20"))
    assert GroceryDiets.objects.get(product=product).diets == {"vegan", "halal"}


def test_one_bad_row_and_nothing_is_imported():
    a, b = make_grocery(cost="1.00"), make_grocery(cost="1.00")
    result = GroceryCostResource().import_data(
        dataset(
            [sku(a), "", "2.00", "1.50", ""],
            [sku(b), "", "2.00", "abc", ""],
            ["INCONNU-1", "", "2.00", "1.00", ""],
            [sku(b), "", "2.00", "-1", ""],
            [sku(b), "", "2.00", "1.00", "vegan;paleo"],
        ),
        dry_run=False,
    )
    # then every bad row is reported on its own line...
    bad = {row.number: row for row in result.invalid_rows}
    errors = {number: str(row.error_dict) for number, row in bad.items()}
    assert set(errors) == {2, 3, 4, 5}
    assert "n’est pas un nombre" in errors[2]
    assert "Référence inconnue" in errors[3]
    assert "supérieure ou égale à 0.01" in errors[4]
    assert "Régime inconnu « paleo »" in errors[5]
    # ...and not even the good first row was applied
    assert StockRecord.objects.get(product=a).cost_price == Decimal("1.00")


def test_an_empty_price_on_a_known_sku_is_a_row_error_and_nothing_is_written():
    # given a good row, then a known SKU with its price cell left empty
    a, b = make_grocery(cost="1.00", price="2.00"), make_grocery(cost="1.00", price="3.00")
    # when imported as any caller does, without asking django-import-export to roll back
    result = GroceryCostResource().import_data(
        dataset([sku(a), "", "2,50", "1,20", ""], [sku(b), "", "", "1,30", ""]), dry_run=False
    )
    # then the empty price is reported on its line, in French...
    assert [row.number for row in result.invalid_rows] == [2]
    assert "Le prix TTC est obligatoire" in str(result.invalid_rows[0].error_dict["price"])
    # ...and neither row was written: b keeps its price, a its price and cost
    prices = dict(StockRecord.objects.values_list("product_id", "price"))
    costs = dict(StockRecord.objects.values_list("product_id", "cost_price"))
    assert (prices[a.pk], costs[a.pk]) == (Decimal("2.00"), Decimal("1.00"))
    assert (prices[b.pk], costs[b.pk]) == (Decimal("3.00"), Decimal("1.00"))


def test_a_file_without_the_price_column_keeps_the_prices():
    product = make_grocery(cost="1.00", price="2.00")
    result = GroceryCostResource().import_data(
        tablib.Dataset([sku(product), "1,40"], headers=["sku", "cost_price"]), dry_run=False
    )
    assert not result.has_validation_errors()
    record = StockRecord.objects.get(product=product)
    assert (record.price, record.cost_price) == (Decimal("2.00"), Decimal("1.40"))


def test_a_bulk_cost_rise_withdraws_the_baskets_it_breaks():
    product = make_grocery(cost="60.00")
    variant = make_variant(components={product: 1}, persons=2)
    GroceryCostResource().import_data(dataset([sku(product), "", "90", "75.00", ""]), dry_run=False)
    assert not BasketVariant.objects.get(pk=variant.pk).product.is_public


def admin_preview(client, csv: str):
    """Upload a CSV on the admin's import page: its preview (a dry run)."""
    return client.post(
        "/admin/baskets/groceryproduct/import/",
        {
            "import_file": SimpleUploadedFile("costs.csv", csv.encode(), "text/csv"),
            "format": "0",
            "resource": "0",
        },
    )


def test_the_admin_import_page_reports_bad_rows(client):
    admin = get_user_model().objects.create_superuser("root", "root@essentiels.localhost", "x")
    client.force_login(admin)
    product = make_grocery(cost="1.00")
    assert client.get("/admin/baskets/groceryproduct/import/").status_code == 200
    csv = f"sku,title,price_incl_tax,cost_price,diets\n{sku(product)},,2.00,zéro,\n"
    response = admin_preview(client, csv)
    html = response.content.decode()
    assert response.status_code == 200
    assert "n’est pas un nombre" in html
    assert StockRecord.objects.get(product=product).cost_price == Decimal("1.00")


def test_a_confirmed_admin_import_that_fails_since_its_preview_writes_nothing(client):
    # given a file the preview found clean
    admin = get_user_model().objects.create_superuser("root", "root@essentiels.localhost", "x")
    client.force_login(admin)
    a, b = make_grocery(cost="1.00"), make_grocery(cost="1.00")
    csv = f"sku,title,price_incl_tax,cost_price,diets\n{sku(a)},,2.00,1.50,\n{sku(b)},,2.00,1.50,\n"
    confirm = admin_preview(client, csv).context["confirm_form"]
    # when b's stock record goes before staff confirm
    StockRecord.objects.filter(product=b).delete()
    response = client.post(
        "/admin/baskets/groceryproduct/process_import/",
        {name: confirm[name].value() for name in confirm.fields},
        follow=True,
    )
    # then a's good row was not applied, and staff are told so (not "Import finished")
    assert StockRecord.objects.get(product=a).cost_price == Decimal("1.00")
    html = response.content.decode()
    assert "Rien n’a été importé : les lignes 2 sont en erreur" in html
    assert "Import finished" not in html
    assert "Importation terminée" not in html
