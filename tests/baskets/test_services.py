"""Rules applied to stored baskets: publication, withdrawal on cost or diet change, order costs."""

from decimal import Decimal

import pytest
from oscar.apps.catalogue.models import Product

from baskets.models import BasketVariant, GroceryDiets, RuleStatus
from baskets.services.rules import BasketRuleError, basket_variant_publish
from essentiels.oscar_forks.partner.models import StockRecord
from tests.baskets.conftest import make_grocery, make_variant

pytestmark = pytest.mark.django_db


def test_a_valid_basket_is_published_with_its_figures():
    # given 2 persons × 7 days and 3 products costing 10 + 2×5 + 3.50
    a, b, c = make_grocery(cost="10.00"), make_grocery(cost="5.00"), make_grocery(cost="3.50")
    variant = make_variant(components={a: 1, b: 2, c: 1}, persons=2)
    # then it is valid, on sale, with the cost per person-day stored
    assert variant.rule_status == RuleStatus.VALID
    assert variant.product.is_public
    assert variant.product.parent.is_public
    assert variant.cost_total == Decimal("23.50")
    assert variant.cost_per_person_day == Decimal("1.68")  # 23.50 / 14 = 1.6786 rounded up
    assert variant.distinct_components == 3


def test_publishing_a_basket_that_breaks_a_rule_is_refused():
    # given a draft basket whose component's cost then rose above the ceiling
    product = make_grocery(cost="60.00")
    variant = make_variant(components={product: 1}, persons=2, publish=False)
    StockRecord.objects.filter(product=product).update(cost_price=Decimal("80.00"))
    # when staff try to publish it, then it is refused and stays off sale
    with pytest.raises(BasketRuleError, match="au-dessus du plafond"):
        basket_variant_publish(variant_id=variant.pk)
    assert not Product.objects.get(pk=variant.product_id).is_public


def test_a_cost_rise_withdraws_a_published_basket_and_says_why():
    # given a published basket at 60 € for 14 person-days (4.29 € per person-day)
    product = make_grocery(cost="60.00")
    variant = make_variant(components={product: 1}, persons=2)
    assert variant.product.is_public
    # when the buyer enters a higher cost price for the component
    record = StockRecord.objects.get(product=product)
    record.cost_price = Decimal("75.00")
    record.save()
    # then the basket is withdrawn from sale, with the reason kept for the back-office
    variant = BasketVariant.objects.select_related("product").get(pk=variant.pk)
    assert not variant.product.is_public
    assert variant.rule_status == RuleStatus.INVALID
    assert variant.withdrawn_at is not None
    assert "au-dessus du plafond" in variant.problem_messages()[0]


def test_a_diet_change_on_a_component_withdraws_the_vegetarian_basket():
    product = make_grocery(diets={"vegetarian", "vegan"})
    variant = make_variant(components={product: 1}, diets={"vegetarian"})
    diets = GroceryDiets.objects.get(product=product)
    diets.vegetarian = False
    diets.save()
    variant = BasketVariant.objects.select_related("product").get(pk=variant.pk)
    assert not variant.product.is_public
    assert variant.rule_problems[0]["code"] == "diet"


def test_an_unrelated_basket_is_left_alone():
    a, b = make_grocery(cost="1.00"), make_grocery(cost="1.00")
    untouched = make_variant(components={a: 1})
    make_variant(components={b: 1})
    StockRecord.objects.filter(product=b).update(cost_price=Decimal("500"))
    record = StockRecord.objects.get(product=b)
    record.save()
    assert Product.objects.get(pk=untouched.product_id).is_public


def test_the_order_keeps_the_cost_of_the_basket_when_it_was_sold():
    from oscar.apps.basket.models import Basket
    from oscar.test.factories import create_order

    from baskets.models import OrderLineCost
    from baskets.services.orders import order_line_costs_record
    from essentiels.oscar_forks.partner.strategy import Selector

    product = make_grocery(cost="30.00")
    variant = make_variant(components={product: 2}, persons=2)
    cart = Basket.objects.create()
    cart.strategy = Selector().strategy()
    cart.add_product(Product.objects.get(pk=variant.product_id))
    order = create_order(basket=cart)
    # order_placed fires in checkout; create_order does not send it
    order_line_costs_record(order=order)
    record = StockRecord.objects.get(product=product)
    record.cost_price = Decimal("31.00")
    record.save()
    cost = OrderLineCost.objects.get(line__order=order)
    assert cost.unit_cost_price == Decimal("60.00")
    assert cost.composition[0]["cost_price"] == "30.00"


def test_a_basket_size_published_by_hand_while_broken_is_withdrawn_again():
    # given a draft whose component became too expensive
    product = make_grocery(cost="60.00")
    variant = make_variant(components={product: 1}, persons=2, publish=False)
    StockRecord.objects.filter(product=product).update(cost_price=Decimal("80.00"))
    # when someone ticks "is public" on the Oscar product directly (dashboard, product admin)
    child = Product.objects.get(pk=variant.product_id)
    child.is_public = True
    child.save()
    # then the rules take it off sale again, saying why
    variant = BasketVariant.objects.select_related("product").get(pk=variant.pk)
    assert not variant.product.is_public
    assert variant.rule_status == RuleStatus.INVALID


def test_a_component_taken_out_of_the_assortment_admin_withdraws_its_baskets():
    from baskets.models import GroceryProduct

    # given a published basket of one grocery product
    product = make_grocery(cost="10.00")
    variant = make_variant(components={product: 1}, persons=2)
    assert variant.product.is_public
    # when the back office unpublishes it in the assortment admin (which saves the proxy model)
    grocery = GroceryProduct.objects.get(pk=product.pk)
    grocery.is_public = False
    grocery.save()
    # then the basket is withdrawn, as when the Oscar product itself is saved
    variant = BasketVariant.objects.select_related("product").get(pk=variant.pk)
    assert not variant.product.is_public
    assert variant.rule_status == RuleStatus.INVALID
