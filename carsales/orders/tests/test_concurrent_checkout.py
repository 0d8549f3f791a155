"""Two buyers checking out the same car at once: one order, one clear refusal, nothing half-written.
Threads with their own connections: SQLite here, PostgreSQL row locks in the PostgreSQL pass."""

import pytest

from carsales.catalog.models import Car, CarStatus
from carsales.conftest import CarFactory, UserFactory, run_together
from carsales.orders.models import Order, OrderItem
from carsales.orders.services import AlreadyOrdered, CheckoutError, cart_for_buyer, cart_item_add, order_place

pytestmark = pytest.mark.django_db(transaction=True)


def test_only_one_of_two_concurrent_checkouts_of_one_car_succeeds():
    car = CarFactory()
    buyers = [UserFactory(), UserFactory()]
    carts = []
    for user in buyers:
        cart = cart_for_buyer(buyer=user.buyer)
        cart_item_add(cart=cart, car=car)
        carts.append(cart)

    errors = run_together(
        [
            lambda u=user, c=cart: order_place(cart=c, buyer=u.buyer, actor=u)
            for user, cart in zip(buyers, carts, strict=True)
        ]
    )

    assert len(errors) == 1 and isinstance(errors[0], CheckoutError)
    assert Order.objects.count() == 1 and OrderItem.objects.count() == 1
    assert Car.objects.get(pk=car.pk).status == CarStatus.RESERVED


def test_concurrent_checkouts_of_overlapping_carts_do_not_deadlock(settings):
    settings.CARSALES_MAX_CARS_HELD = 4  # four cars in each cart: the race, not the hold limit
    cars = CarFactory.create_batch(4)
    buyers = [UserFactory(), UserFactory()]
    # opposite orders of adding: locks are still taken in id order
    for user, chosen in zip(buyers, [cars, list(reversed(cars))], strict=True):
        cart = cart_for_buyer(buyer=user.buyer)
        for car in chosen:
            cart_item_add(cart=cart, car=car)

    errors = run_together(
        [lambda u=user: order_place(cart=cart_for_buyer(buyer=u.buyer), buyer=u.buyer, actor=u) for user in buyers]
    )

    assert len(errors) == 1 and isinstance(errors[0], CheckoutError)
    assert Order.objects.get().total == 4


def test_one_checkout_sent_twice_at_once_places_one_order_and_names_it_to_the_other():
    """A double click or a retry: the second, let through the cart's lock once the first committed,
    read the cart as it was (PostgreSQL), and refused its own order's car as another buyer's."""
    user = UserFactory()
    cars = CarFactory.create_batch(2)
    cart = cart_for_buyer(buyer=user.buyer)
    for car in cars:
        cart_item_add(cart=cart, car=car)
    confirmed = [car.pk for car in cars]

    errors = run_together(
        [lambda: order_place(cart=cart, buyer=user.buyer, actor=user, confirmed_car_ids=confirmed) for _ in range(3)]
    )

    order = Order.objects.get()
    assert len(errors) == 2 and all(isinstance(error, AlreadyOrdered) for error in errors)
    assert {error.order_id for error in errors} == {order.pk} and order.total == 2
