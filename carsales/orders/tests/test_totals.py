"""Seed 001: an order's cars keep its totals, through m2m_changed (from either side)."""

from decimal import Decimal

import pytest
from django.db import transaction

from carsales.conftest import CarFactory, order_for
from carsales.orders.models import Order
from carsales.orders.receivers import order_cars_changed
from carsales.orders.services import OrderStateError, order_cancel

pytestmark = pytest.mark.django_db

ORDER_PLACE = r"created by orders\.services\.order_place only"


def stored(order: Order) -> tuple[int, Decimal]:
    fresh = Order.objects.get(pk=order.pk)
    return fresh.total, fresh.total_price


def test_the_seed_example_remove_and_clear_keep_the_totals():
    hundred, fifty = CarFactory(value=100), CarFactory(value=50)
    order = order_for(hundred, fifty)
    assert stored(order) == (2, Decimal("150"))

    order.cars.remove(fifty)
    assert stored(order) == (1, Decimal("100"))
    assert (order.total, order.total_price) == (1, Decimal("100"))  # the caller's instance too

    order.cars.clear()
    assert stored(order) == (0, Decimal("0"))


def test_adding_a_car_to_an_order_from_either_side_is_refused_and_the_totals_stay():
    order = order_for(CarFactory(value=100))
    car = CarFactory(value=70)

    with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
        order.cars.add(car)
    with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
        car.orders.add(order)

    assert stored(order) == (1, Decimal("100"))


def test_removing_and_clearing_from_the_cars_side_update_the_orders_they_may(staff):
    shared, solo, fresh = CarFactory(value=10), CarFactory(value=5), CarFactory(value=7)
    cancelled = order_for(shared, solo)
    order_cancel(order=cancelled, actor=staff)  # its lines stay, holding nothing: its record
    placed, other = order_for(shared), order_for(fresh)

    for write in (lambda: shared.orders.remove(cancelled), shared.orders.clear):
        with pytest.raises(OrderStateError, match="its lines are its record"), transaction.atomic():
            write()
    assert stored(cancelled) == (2, Decimal("15")) and stored(placed) == (1, Decimal("10"))

    shared.orders.remove(placed)  # a placed order's line may go: its car goes back on sale
    fresh.orders.clear()
    assert stored(placed) == (0, Decimal("0")) and stored(other) == (0, Decimal("0"))
    assert stored(cancelled) == (2, Decimal("15"))


def test_the_price_at_ordering_wins_over_a_later_value_change():
    car = CarFactory(value=100)
    order = order_for(car)

    car.value = Decimal("500")
    car.save()

    assert stored(order) == (1, Decimal("100"))


def test_a_repeated_signal_leaves_the_same_totals():
    car = CarFactory(value=100)
    order = order_for(car, CarFactory(value=1))
    order.cars.remove(car)

    order_cars_changed(sender=Order.cars.through, instance=order, action="post_remove", reverse=False, pk_set={car.pk})

    assert stored(order) == (1, Decimal("1"))


def test_the_admin_order_form_writes_neither_lines_nor_status(staff_client):
    order = order_for(CarFactory(value=100))
    car = CarFactory(value=300)

    response = staff_client.post(
        f"/admin/orders/order/{order.pk}/change/",
        {
            "buyer": order.buyer.pk,
            "status": "cancelled",
            "is_active": "",
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
            "items-0-car": car.pk,
            "items-0-price": "1",
        },
    )

    assert response.status_code == 403  # the change form is view-only: actions call the services
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.is_active) == ("placed", True)
    assert stored(order) == (1, Decimal("100")) and order.items.count() == 1
