"""Back-office in Django admin: compositions are validated on save, message on the field."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from baskets.models import BasketComponent, BasketVariant, RuleStatus, ThemedBasket
from essentiels.oscar_forks.partner.models import StockRecord
from essentiels.roles import BACK_OFFICE_GROUP
from tests.baskets.conftest import make_grocery, make_theme, make_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def back_office(client):
    user = get_user_model().objects.create_user(
        username="camille", email="camille@essentiels.localhost", password="x", is_staff=True
    )
    user.groups.add(Group.objects.get(name=BACK_OFFICE_GROUP))
    client.force_login(user)
    return client


def variant_form(variant, lines, *, persons=None, price="60.00", on_sale="on", existing=()):
    """The POST data of the variant change page, with ``lines`` as the composition."""
    data = {
        "themed_basket": variant.themed_basket_id,
        "persons": persons or variant.persons,
        "price": price,
        "on_sale": on_sale,
        "components-TOTAL_FORMS": len(existing) + len(lines),
        "components-INITIAL_FORMS": len(existing),
        "components-MIN_NUM_FORMS": 0,
        "components-MAX_NUM_FORMS": 1000,
    }
    for i, component in enumerate(existing):
        data |= {
            f"components-{i}-id": component.pk,
            f"components-{i}-variant": variant.pk,
            f"components-{i}-product": component.product_id,
            f"components-{i}-quantity": component.quantity,
        }
    for j, (product_id, quantity) in enumerate(lines, start=len(existing)):
        data |= {
            f"components-{j}-variant": variant.pk,
            f"components-{j}-product": product_id,
            f"components-{j}-quantity": quantity,
        }
    return data


def url(variant):
    return f"/admin/baskets/basketvariant/{variant.pk}/change/"


def test_back_office_builds_a_valid_forty_product_basket(back_office):
    # given an Essentiel theme needing 40 products and a one-product draft
    theme = make_theme("Essentiel", minimum=1)
    first = make_grocery(cost="0.50")
    variant = make_variant(components={first: 1}, theme=theme, persons=2, publish=False)
    theme.min_components = 40
    theme.save()
    products = [make_grocery(cost="0.80") for _ in range(39)]
    # when staff add 39 more products and save, asking to put it on sale
    response = back_office.post(
        url(variant),
        variant_form(variant, [(p.pk, 2) for p in products], existing=variant.components.all()),
    )
    # then it is saved, valid and on sale: 0.50 + 39 × 1.60 = 62.90 € for 14 person-days
    assert response.status_code == 302, response.content.decode()[:3000]
    variant = BasketVariant.objects.select_related("product").get(pk=variant.pk)
    assert variant.components.count() == 40
    assert variant.rule_status == RuleStatus.VALID
    assert variant.cost_per_person_day == Decimal("4.50")  # 62.90 / 14 = 4.4929, rounded up
    assert variant.product.is_public


def test_a_composition_above_the_ceiling_is_refused_and_nothing_is_saved(back_office):
    product = make_grocery(cost="10.00")
    variant = make_variant(components={product: 1}, persons=1)
    pricey = make_grocery(cost="30.00")
    response = back_office.post(
        url(variant), variant_form(variant, [(pricey.pk, 1)], existing=variant.components.all())
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "au-dessus du plafond de 5,00" in html
    assert BasketComponent.objects.filter(variant=variant).count() == 1


def test_a_non_vegetarian_product_in_a_vegetarian_basket_is_flagged_on_its_line(back_office):
    veg = make_grocery(diets={"vegetarian"})
    variant = make_variant(components={veg: 1}, diets={"vegetarian"})
    ham = make_grocery("Jambon blanc", diets={"gluten_free"})
    response = back_office.post(
        url(variant), variant_form(variant, [(ham.pk, 1)], existing=variant.components.all())
    )
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert errors[1] == {
        "product": ["« Jambon blanc » n’est pas végétarien, mais le panier le promet."]
    }


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("0", "supérieure ou égale à 1"), ("-3", "supérieure ou égale à 1"), ("abc", "nombre entier")],
)
def test_bad_quantities_are_field_errors(back_office, quantity, message):
    product = make_grocery()
    variant = make_variant(components={product: 1})
    other = make_grocery()
    response = back_office.post(
        url(variant),
        variant_form(variant, [(other.pk, quantity)], existing=variant.components.all()),
    )
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert message in errors[1]["quantity"][0]
    assert variant.components.count() == 1


def test_a_product_added_twice_is_refused(back_office):
    product = make_grocery()
    variant = make_variant(components={product: 1})
    response = back_office.post(
        url(variant), variant_form(variant, [(product.pk, 2)], existing=variant.components.all())
    )
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert "déjà dans le panier" in errors[1]["product"][0]


def test_an_empty_composition_is_refused(back_office):
    product = make_grocery()
    variant = make_variant(components={product: 1})
    data = variant_form(variant, [], existing=variant.components.all())
    data["components-0-DELETE"] = "on"
    response = back_office.post(url(variant), data)
    assert response.status_code == 200
    assert "Le panier n’a aucun produit." in response.content.decode()
    assert variant.components.count() == 1


def test_a_bad_price_is_a_field_error(back_office):
    product = make_grocery()
    variant = make_variant(components={product: 1})
    response = back_office.post(
        url(variant), variant_form(variant, [], price="-5", existing=variant.components.all())
    )
    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors


def test_raising_a_cost_in_admin_withdraws_the_basket_with_a_message(back_office):
    product = make_grocery("Lentilles", cost="60.00")
    variant = make_variant(components={product: 1}, persons=2)
    record = StockRecord.objects.get(product=product)
    diets = product.grocery_diets
    data = {
        "title": product.title,
        "upc": product.upc,
        "description": "",
        "is_public": "on",
        "stockrecords-TOTAL_FORMS": 1,
        "stockrecords-INITIAL_FORMS": 1,
        "stockrecords-MIN_NUM_FORMS": 1,
        "stockrecords-MAX_NUM_FORMS": 1000,
        "stockrecords-0-id": record.pk,
        "stockrecords-0-product": product.pk,
        "stockrecords-0-partner": record.partner_id,
        "stockrecords-0-partner_sku": record.partner_sku,
        "stockrecords-0-price": "90.00",
        "stockrecords-0-cost_price": "75.00",
        "stockrecords-0-num_in_stock": "10",
        "grocery_diets-TOTAL_FORMS": 1,
        "grocery_diets-INITIAL_FORMS": 1,
        "grocery_diets-MIN_NUM_FORMS": 0,
        "grocery_diets-MAX_NUM_FORMS": 1,
        "grocery_diets-0-id": diets.pk,
        "grocery_diets-0-product": product.pk,
        **{f"grocery_diets-0-{code}": "on" for code in diets.diets},
    }
    response = back_office.post(
        f"/admin/baskets/groceryproduct/{product.pk}/change/", data, follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Retirés de la vente" in html
    assert not BasketVariant.objects.get(pk=variant.pk).product.is_public
    # and the back-office finds it with the list filter
    listing = back_office.get("/admin/baskets/basketvariant/?rules=withdrawn")
    assert variant.product.title in listing.content.decode()


def test_a_diet_promise_that_would_break_a_size_is_refused_on_the_themed_basket(back_office):
    ham = make_grocery("Jambon", diets={"gluten_free"})
    variant = make_variant(components={ham: 1})
    basket = variant.themed_basket
    response = back_office.post(
        f"/admin/baskets/themedbasket/{basket.pk}/change/",
        {
            "title": basket.product.title,
            "upc": basket.product.upc,
            "description": "",
            "theme": basket.theme_id,
            "days": 7,
            "vegetarian": "on",
            "variants-TOTAL_FORMS": 1,
            "variants-INITIAL_FORMS": 1,
            "variants-MIN_NUM_FORMS": 0,
            "variants-MAX_NUM_FORMS": 1000,
            "variants-0-id": variant.pk,
            "variants-0-themed_basket": basket.pk,
        },
    )
    assert response.status_code == 200
    assert "vegetarian" in response.context["adminform"].form.errors
    assert not ThemedBasket.objects.get(pk=basket.pk).vegetarian


def test_live_rules_facts_endpoint(back_office):
    product = make_grocery(cost="1.25", diets={"vegan"})
    variant = make_variant(components={product: 1})
    response = back_office.get(
        f"/admin/baskets/basketvariant/facts/?products={product.pk},abc&basket={variant.themed_basket_id}"
    )
    body = response.json()
    assert body["products"][str(product.pk)]["cost"] == "1.25"
    assert body["products"][str(product.pk)]["diets"] == ["vegan"]
    assert body["basket"]["days"] == 7


def test_back_office_group_has_exactly_the_assortment_permissions(back_office):
    assert back_office.get("/admin/baskets/basketvariant/").status_code == 200
    assert back_office.get("/admin/baskets/groceryproduct/").status_code == 200
    assert back_office.get("/admin/baskets/themedbasket/add/").status_code == 200
    # but not orders, users or delivery
    assert back_office.get("/admin/order/order/").status_code == 403
    assert back_office.get("/admin/auth/user/").status_code == 403
    assert back_office.get("/admin/delivery/district/").status_code == 403


def test_back_office_adds_a_new_household_size_with_its_composition(back_office):
    # given a basket sold for 2 persons
    product = make_grocery(cost="2.00")
    variant = make_variant(components={product: 1}, persons=2)
    other = make_grocery(cost="3.00")
    # when staff add a 4-person size with two products, on sale at 19.90 €
    response = back_office.post(
        "/admin/baskets/basketvariant/add/",
        {
            "themed_basket": variant.themed_basket_id,
            "persons": 4,
            "price": "19,90",
            "on_sale": "on",
            "components-TOTAL_FORMS": 2,
            "components-INITIAL_FORMS": 0,
            "components-MIN_NUM_FORMS": 0,
            "components-MAX_NUM_FORMS": 1000,
            "components-0-product": product.pk,
            "components-0-quantity": 2,
            "components-1-product": other.pk,
            "components-1-quantity": 1,
        },
    )
    # then it exists as an Oscar child product, priced, composed and on sale
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        response.context["inline_admin_formsets"][0].formset.errors,
        response.context["inline_admin_formsets"][0].formset.non_form_errors(),
    )
    added = BasketVariant.objects.select_related("product").get(persons=4)
    assert added.product.parent_id == variant.product.parent_id
    assert added.product.stockrecords.get().price == Decimal("19.90")
    assert added.cost_total == Decimal("7.00")
    assert added.product.is_public
    # and the same size twice is refused on the form
    again = back_office.post(
        "/admin/baskets/basketvariant/add/",
        {
            "themed_basket": variant.themed_basket_id,
            "persons": 4,
            "price": "19.90",
            "components-TOTAL_FORMS": 0,
            "components-INITIAL_FORMS": 0,
            "components-MIN_NUM_FORMS": 0,
            "components-MAX_NUM_FORMS": 1000,
        },
    )
    assert again.status_code == 200
    assert BasketVariant.objects.filter(persons=4).count() == 1


def test_the_publish_action_puts_valid_sizes_on_sale_and_names_the_broken_ones(back_office):
    good = make_variant(components={make_grocery(cost="1.00"): 1}, publish=False)
    product = make_grocery("Paleron", cost="60.00")
    bad = make_variant(components={product: 1}, persons=2, publish=False)
    StockRecord.objects.filter(product=product).update(cost_price=Decimal("80.00"))
    response = back_office.post(
        "/admin/baskets/basketvariant/",
        {"action": "publish", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "1 mis en vente." in html
    assert "au-dessus du plafond" in html
    assert BasketVariant.objects.get(pk=good.pk).product.is_public
    assert not BasketVariant.objects.get(pk=bad.pk).product.is_public
