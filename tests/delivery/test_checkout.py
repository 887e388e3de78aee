"""Through Oscar's checkout as a guest, with the fixed-day delivery method."""

from datetime import timedelta

import pytest
from django.urls import reverse
from oscar.apps.order.models import Order
from oscar.test.factories import CountryFactory

from delivery.calendar import delivery_dates_upcoming
from delivery.models import DeliveryDate, OrderDelivery
from tests.delivery.factories import DeliveryDateFactory, DistrictFactory, basket_product, paris_13e

pytestmark = pytest.mark.django_db


@pytest.fixture
def france():
    return CountryFactory(
        iso_3166_1_a2="FR", printable_name="France", name="France", is_shipping_country=True
    )


def address(postcode: str, city: str) -> dict:
    return {
        "first_name": "Camille",
        "last_name": "Martin",
        "line1": "12 rue de Tolbiac",
        "line4": city,
        "postcode": postcode,
        "country": "FR",
        "phone_number": "",
    }


def start_checkout(client, *, baskets: int = 2) -> None:
    product = basket_product()
    response = client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": baskets})
    assert response.status_code == 302
    response = client.post(
        reverse("checkout:index"), {"username": "camille@example.org", "options": "anonymous"}
    )
    assert response.status_code == 302


def test_a_shopper_in_paris_13e_sees_tuesday_and_gets_the_date_booked(client, france, stripe_card):
    # given Paris 13e delivered on Tuesdays, and 2 baskets in the cart
    district = paris_13e()
    expected = delivery_dates_upcoming(district=district, count=1)[0]
    start_checkout(client, baskets=2)
    # when the shopper gives an address in 75013
    response = client.post(reverse("checkout:shipping-address"), address(" 75013 ", "Paris"))
    assert response.status_code == 302
    # then the single fixed-day method is chosen and the preview shows the Tuesday and its date
    response = client.get(reverse("checkout:shipping-method"), follow=True)
    response = client.get(reverse("checkout:preview"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Livraison le mardi" in html
    assert expected.strftime("%Y") in html
    assert f"mardi {expected.day} " in html
    assert "Livré chaque mardi dans Paris 13e" in html
    # when the order is placed and paid with a saved card
    card = stripe_card("camille@example.org")
    response = client.post(
        reverse("checkout:preview"), {"action": "place_order", "payment_method_id": card}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    # then the order has its delivery date and the capacity was booked
    order = Order.objects.get()
    delivery = OrderDelivery.objects.get(order=order)
    assert (delivery.district, delivery.delivery_date, delivery.baskets) == (district, expected, 2)
    assert DeliveryDate.objects.get(district=district, date=expected).booked == 2
    assert order.shipping_code == f"livraison-{expected.isoformat()}"
    # and the thank-you page says when
    thanks = client.get(response["Location"]).content.decode()
    assert "Livré le mardi" in thanks


def test_a_full_first_date_moves_the_checkout_to_the_next_one(client, france, stripe_card):
    # given the next Tuesday is full
    district = paris_13e()
    first, second = delivery_dates_upcoming(district=district, count=2)
    DeliveryDateFactory(district=district, date=first, capacity=5, booked=5)
    start_checkout(client)
    client.post(reverse("checkout:shipping-address"), address("75013", "Paris"))
    client.get(reverse("checkout:shipping-method"))
    # then the preview offers the next date with room and says why
    html = client.get(reverse("checkout:preview")).content.decode()
    assert f"{second.day}" in html
    assert "est complète" in html
    card = stripe_card("camille@example.org")
    client.post(reverse("checkout:preview"), {"action": "place_order", "payment_method_id": card})
    assert OrderDelivery.objects.get().delivery_date == second


def test_a_date_gone_before_placing_sends_the_shopper_back_to_confirm(client, france):
    # given a shopper on the preview page with the next Tuesday offered
    district = paris_13e()
    first, second = delivery_dates_upcoming(district=district, count=2)
    start_checkout(client)
    client.post(reverse("checkout:shipping-address"), address("75013", "Paris"))
    client.get(reverse("checkout:shipping-method"))
    client.get(reverse("checkout:preview"))
    # when the date fills up before they place the order
    DeliveryDateFactory(district=district, date=first, capacity=1, booked=1)
    response = client.post(reverse("checkout:preview"), {"action": "place_order"})
    # then Oscar asks them to confirm the shipping method again (the date they saw is gone)
    assert response.status_code == 302
    assert not Order.objects.exists()


def test_an_unserved_postcode_gets_the_waitlist(client, france):
    # given Montreuil is not open
    DistrictFactory(name="Montreuil", insee_code="93048", is_active=False, postcodes=["93100"])
    start_checkout(client)
    client.post(reverse("checkout:shipping-address"), address("93100", "Montreuil"))
    # when the checkout looks for a shipping method
    response = client.get(reverse("checkout:shipping-method"), follow=True)
    html = response.content.decode()
    # then the shopper is back on the address page, told why, with the waitlist
    assert response.redirect_chain[-1][0] == reverse("checkout:shipping-address")
    assert "Nous ne livrons pas encore Montreuil (93100)" in html
    assert reverse("delivery:waitlist") in html
    assert not Order.objects.exists()


def test_the_cart_page_estimates_delivery_before_any_postcode(client):
    product = basket_product()
    client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 1})
    response = client.get(reverse("basket:summary"))
    assert response.status_code == 200


def test_the_cart_page_uses_the_district_checked_with_the_postcode_form(client):
    paris_13e()
    client.get(reverse("delivery:check"), {"postcode": "75013"})
    product = basket_product()
    client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 1})
    html = client.get(reverse("basket:summary")).content.decode()
    assert "Livraison le mardi" in html


def test_delivery_is_free_above_the_district_threshold(client, france):
    from decimal import Decimal

    from oscar.apps.basket.models import Basket
    from oscar.apps.order.models import ShippingAddress
    from oscar.apps.partner.strategy import Default

    from delivery.shipping import shipping_methods_for

    paris_13e(shipping_fee=Decimal("4.90"), free_shipping_threshold=Decimal("60.00"))
    cart = Basket.objects.create()
    cart.strategy = Default()
    cart.add_product(basket_product(), quantity=1)  # 49.90
    to = ShippingAddress(postcode="75013", line4="Paris", country=france)
    [method] = shipping_methods_for(cart=cart, shipping_addr=to)
    assert method.calculate(cart).incl_tax == Decimal("4.90")
    assert method.calculate(cart).excl_tax == Decimal("4.08")
    cart.add_product(basket_product(title="Panier fromages"), quantity=1)  # 99.80
    cart.reset_offer_applications()
    assert method.calculate(cart).incl_tax == Decimal("0.00")


def test_a_date_full_at_placement_goes_to_the_next_and_the_thank_you_page_says_so(admin_client):
    # given an order placed for the next Tuesday, which filled up a moment before
    from oscar.test.factories import BasketFactory, ShippingAddressFactory, create_order

    from delivery.selectors import district_next_delivery
    from delivery.shipping import FixedDayDelivery

    district = paris_13e()
    offered = district_next_delivery(district=district)
    method = FixedDayDelivery(next_delivery=offered)
    DeliveryDateFactory(district=district, date=offered.date, capacity=1, booked=1)
    cart = BasketFactory()
    cart.add_product(basket_product(), quantity=1)
    order = create_order(
        basket=cart,
        shipping_address=ShippingAddressFactory(postcode="75013", line4="Paris"),
        shipping_method=method,
        guest_email="camille@example.org",
    )
    # then it is booked on the next date with room, remembering the one offered
    delivery = OrderDelivery.objects.get(order=order)
    assert delivery.requested_date == offered.date
    assert delivery.delivery_date == offered.date + timedelta(weeks=1)
    # and the thank-you page tells the shopper
    html = admin_client.get(
        reverse("checkout:thank-you"), {"order_number": order.number}
    ).content.decode()
    assert "s'est remplie pendant votre commande" in html
