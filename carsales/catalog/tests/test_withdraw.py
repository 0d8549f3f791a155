"""Staff take a car off sale and put it back: stock transitions, on the page, the API and the admin."""

import pytest
from django.test import Client

from carsales.catalog.models import Car, CarStatus
from carsales.catalog.services import StockError, cars_relist, cars_withdraw
from carsales.conftest import CarFactory, UserFactory, reserved_car, token_client
from carsales.core.tests.invariants import assert_store_is_true
from carsales.inventory.selectors import inventory_current
from carsales.orders.services import CartError, cart_for_buyer, cart_item_add

pytestmark = pytest.mark.django_db


def status_of(car: Car) -> str:
    return Car.objects.values_list("status", flat=True).get(pk=car.pk)


def test_a_withdrawn_car_leaves_the_catalogue_and_the_carts_but_counts_in_stock_as_its_own_figure():
    car, other = CarFactory(value=100), CarFactory(value=50)

    cars_withdraw(car_ids=[car.pk])

    snapshot = inventory_current()
    assert (snapshot.cars_count, snapshot.available_count, snapshot.withdrawn_count) == (2, 1, 1)
    assert [c.pk for c in Client().get("/").context["page"]] == [other.pk]
    assert Client().get(f"/cars/{car.pk}/").status_code == 404
    with pytest.raises(CartError, match="has been taken off sale"):
        cart_item_add(cart=cart_for_buyer(buyer=UserFactory().buyer), car=car)
    assert_store_is_true()


def test_only_an_available_car_can_be_withdrawn_and_only_a_withdrawn_one_relisted():
    held = reserved_car()
    car = CarFactory()

    with pytest.raises(StockError, match="Only available cars can be withdrawn"):
        cars_withdraw(car_ids=[held.pk])
    with pytest.raises(StockError, match="Only withdrawn from sale cars can be relisted"):
        cars_relist(car_ids=[car.pk])

    assert (status_of(held), status_of(car)) == (CarStatus.RESERVED, CarStatus.AVAILABLE)


def test_staff_withdraw_and_relist_on_the_car_page(staff_client):
    car = CarFactory()

    page = staff_client.get(f"/cars/{car.pk}/").content.decode()
    staff_client.post(f"/cars/{car.pk}/withdraw/")
    withdrawn_page = staff_client.get(f"/cars/{car.pk}/")
    staff_client.post(f"/cars/{car.pk}/relist/")

    assert "Withdraw from sale" in page
    assert withdrawn_page.status_code == 200 and "Put back on sale" in withdrawn_page.content.decode()
    assert status_of(car) == CarStatus.AVAILABLE
    assert_store_is_true()


@pytest.mark.parametrize("switch", ["withdraw", "relist"])
def test_a_get_of_withdraw_or_relist_a_log_in_returns_to_goes_to_the_car_and_changes_nothing(switch, staff_client):
    car = CarFactory()
    if switch == "relist":
        cars_withdraw(car_ids=[car.pk])
    before = status_of(car)

    response = staff_client.get(f"/cars/{car.pk}/{switch}/")

    assert response.status_code == 302 and response["Location"] == f"/cars/{car.pk}/"
    assert status_of(car) == before


def test_the_api_withdraws_and_relists_for_staff_only(staff):
    car, held = CarFactory(), reserved_car()
    staff_api, buyer_api = token_client(staff), token_client(UserFactory())

    refused = buyer_api.post(f"/api/cars/{car.pk}/withdraw/")
    withdrawn = staff_api.post(f"/api/cars/{car.pk}/withdraw/")
    hidden = buyer_api.get(f"/api/cars/{car.pk}/")
    conflict = staff_api.post(f"/api/cars/{held.pk}/withdraw/")
    relisted = staff_api.post(f"/api/cars/{car.pk}/relist/")

    assert refused.status_code == 403
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert hidden.status_code == 404
    assert conflict.status_code == 409 and "reserved" in conflict.json()["detail"]
    assert relisted.status_code == 200 and relisted.json()["status"] == "available"


def test_the_admin_actions_withdraw_and_relist(staff_client):
    cars = CarFactory.create_batch(2)
    ids = [str(car.pk) for car in cars]

    staff_client.post("/admin/catalog/car/", {"action": "withdraw", "_selected_action": ids})
    assert {status_of(car) for car in cars} == {CarStatus.WITHDRAWN}
    staff_client.post("/admin/catalog/car/", {"action": "relist", "_selected_action": ids})

    assert {status_of(car) for car in cars} == {CarStatus.AVAILABLE}
    assert_store_is_true()


def test_the_inventory_page_shows_the_withdrawn_figure(staff_client):
    CarFactory(), CarFactory()
    cars_withdraw(car_ids=[CarFactory().pk])

    page = staff_client.get("/staff/inventory/").content.decode()

    assert '<span class="stat-label">Withdrawn</span><span class="stat-value">1</span>' in page
    assert '<th class="right">Withdrawn</th>' in page
