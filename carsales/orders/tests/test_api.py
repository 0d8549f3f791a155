from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from carsales.catalog.models import CarStatus
from carsales.catalog.services import cars_withdraw
from carsales.conftest import CarFactory, UserFactory, sold_car, token_client
from carsales.core.groups import SALESPERSON
from carsales.orders.models import CartItem, Order
from carsales.orders.services import cart_for_buyer, cart_item_add, order_place
from carsales.sales.models import Sale

pytestmark = pytest.mark.django_db


def test_a_buyer_fills_the_cart_and_checks_out_with_a_token(buyer_api):
    car = CarFactory(value=100)

    assert buyer_api.post("/api/cart/items/", {"car": car.pk}).status_code == 201
    assert [i["car"] for i in buyer_api.get("/api/cart/").json()["items"]] == [car.pk]
    response = buyer_api.post("/api/checkout/", {})

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "placed" and body["total"] == 1 and Decimal(body["total_price"]) == 100
    assert buyer_api.get("/api/cart/").json()["items"] == []


def test_adding_an_unavailable_car_is_a_400_with_the_reason(buyer_api):
    car = sold_car()

    response = buyer_api.post("/api/cart/items/", {"car": car.pk})

    assert response.status_code == 400 and response.json()["car"] == [f"{car} has been sold."]


def test_adding_a_car_that_does_not_exist_is_a_400(buyer_api):
    response = buyer_api.post("/api/cart/items/", {"car": 999999})

    assert response.status_code == 400 and "car" in response.json()


def test_removing_a_car_from_the_cart(buyer_api):
    car = CarFactory()
    buyer_api.post("/api/cart/items/", {"car": car.pk})

    assert buyer_api.delete(f"/api/cart/items/{car.pk}/").status_code == 204
    assert buyer_api.delete(f"/api/cart/items/{car.pk}/").status_code == 404


def test_checking_out_an_empty_cart_is_a_400_with_a_message(buyer_api):
    response = buyer_api.post("/api/checkout/", {})

    assert response.status_code == 400 and response.json()["detail"] == "Your cart is empty."
    assert not Order.objects.exists()


def test_checking_out_another_buyers_cart_is_a_404(buyer_api):
    other = UserFactory()
    foreign = cart_for_buyer(buyer=other.buyer)
    cart_item_add(cart=foreign, car=CarFactory())

    response = buyer_api.post("/api/checkout/", {"cart_id": foreign.pk})

    assert response.status_code == 404 and not Order.objects.exists()


def test_a_malformed_checkout_body_is_a_400(buyer_api):
    assert buyer_api.post("/api/checkout/", {"cart_id": "mine"}).status_code == 400


def test_the_cart_needs_authentication():
    assert APIClient().get("/api/cart/").status_code in (401, 403)


def placed_by(user, value=100):
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory(value=value))
    return order_place(cart=cart, buyer=user.buyer, actor=user)


def test_a_buyer_lists_only_their_orders_and_gets_404_for_others(buyer_api, user):
    mine, theirs = placed_by(user), placed_by(UserFactory())

    assert [o["id"] for o in buyer_api.get("/api/orders/").json()["results"]] == [mine.pk]
    assert buyer_api.get(f"/api/orders/{theirs.pk}/").status_code == 404


def test_a_buyer_cannot_pay_an_order(buyer_api, user):
    order = placed_by(user)

    assert buyer_api.post(f"/api/orders/{order.pk}/pay/").status_code == 403


def test_staff_pay_an_order_which_makes_a_sale_and_a_second_pay_is_a_409(staff_api, user):
    order = placed_by(user, 250)

    response = staff_api.post(f"/api/orders/{order.pk}/pay/", {"method": "card", "reference": "slip 0042"})

    assert response.status_code == 200 and response.json()["status"] == "paid"
    assert (response.json()["payment_method"], response.json()["payment_reference"]) == ("card", "slip 0042")
    assert Sale.objects.get(order=order).amount == 250
    assert staff_api.post(f"/api/orders/{order.pk}/pay/", {"method": "card"}).status_code == 409


def test_paying_an_order_by_the_api_says_how_the_buyer_paid(staff_api, user):
    order = placed_by(user)

    unsaid = staff_api.post(f"/api/orders/{order.pk}/pay/", {})
    unknown = staff_api.post(f"/api/orders/{order.pk}/pay/", {"method": "barter"})
    turned = staff_api.post(f"/api/orders/{order.pk}/pay/", {"method": "card", "reference": "TR\u202e9"})
    hidden = [
        staff_api.post(f"/api/orders/{order.pk}/pay/", {"method": "card", "reference": f"TR{unseen}9"}).status_code
        for unseen in ("\xad", "\u061c", "\x9f", "\U000e0041", "\ue000")
    ]
    gone = staff_api.post("/api/orders/999999/pay/", {})

    assert unsaid.status_code == 400 and "method" in unsaid.json()
    assert unknown.status_code == 400 and "method" in unknown.json()
    assert turned.status_code == 400 and turned.json()["reference"] == [
        "The reference holds a character that does not show; type it again."
    ]
    assert hidden == [400] * 5
    assert gone.status_code == 404  # an order gone is a 404 whatever the body
    assert Order.objects.get(pk=order.pk).status == "placed"
    staff_api.post(f"/api/orders/{order.pk}/pay/", {"method": "card"})
    assert staff_api.post(f"/api/orders/{order.pk}/pay/", {}).status_code == 409  # a retry: paid, whatever the body


def test_staff_cancel_an_order_and_its_car_is_back_on_sale(staff_api, user):
    order = placed_by(user)

    assert staff_api.post(f"/api/orders/{order.pk}/cancel/").json()["status"] == "cancelled"
    assert order.items.get().car.status == CarStatus.AVAILABLE


def test_staff_list_and_void_sales(staff_api, user, staff):
    order = placed_by(user)
    staff_api.post(f"/api/orders/{order.pk}/pay/", {"method": "transfer"})
    sale = Sale.objects.get()

    assert [s["id"] for s in staff_api.get("/api/sales/").json()["results"]] == [sale.pk]
    assert staff_api.post(f"/api/sales/{sale.pk}/void/", {"reason": "returned"}).status_code == 204
    assert Order.objects.get(pk=order.pk).is_active is False


def test_sales_and_inventory_are_staff_only(buyer_api):
    assert buyer_api.get("/api/sales/").status_code == 403
    assert buyer_api.get("/api/inventory/").status_code == 403


def test_staff_read_the_inventory(staff_api):
    CarFactory(value=10)

    snapshots = staff_api.get("/api/inventory/").json()["results"]

    assert snapshots[0]["cars_count"] == 1 and Decimal(snapshots[0]["cars_value"]) == 10


@pytest.mark.parametrize("reader", ["visitor", "buyer", "salesperson", "stock staff"])
def test_a_withdrawn_car_is_no_car_to_whoever_may_not_open_its_page_on_every_way_into_a_cart(reader):
    hidden = CarFactory(model="Hidden")
    cars_withdraw(car_ids=[hidden.pk])
    missing = hidden.pk + 1000
    user = (
        None if reader == "visitor" else UserFactory(is_staff=reader != "buyer", is_superuser=reader == "stock staff")
    )
    if reader == "salesperson":
        user.groups.add(Group.objects.get(name=SALESPERSON))
    page = Client()
    if user:
        page.force_login(user)

    added = [page.post(f"/cart/add/{pk}/") for pk in (hidden.pk, missing)]
    api = token_client(user) if user else APIClient()
    by_api = [api.post("/api/cart/items/", {"car": pk}, format="json") for pk in (hidden.pk, missing)]

    if reader == "stock staff":  # who may open its page is told why it cannot go in a cart
        assert added[0].status_code == 302 and "taken off sale" in str(by_api[0].json())
    else:
        assert added[0].status_code == added[1].status_code == 404
        if user:  # the API's cart is a signed-in buyer's
            assert by_api[0].status_code == by_api[1].status_code == 400
            assert by_api[0].json() == {"car": [f'Invalid pk "{hidden.pk}" - object does not exist.']}
    assert not CartItem.objects.filter(car=hidden).exists()
