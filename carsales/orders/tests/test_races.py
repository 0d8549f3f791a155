"""Races between staff and buyers, each writer on its own connection: SQLite in the first pass of
`make test`, PostgreSQL (real row locks, deferred foreign keys) in the second. Bounded: a few
rounds, each a handful of writers started together."""

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test import Client

from carsales.catalog.models import Car, CarStatus
from carsales.catalog.services import CarInUse, car_create, car_delete, car_update
from carsales.conftest import BrandFactory, CarFactory, UserFactory, run_together
from carsales.core.gone import DeletedMeanwhile
from carsales.core.tests.invariants import assert_store_is_true
from carsales.orders.models import Cart, CartItem, OrderItem
from carsales.orders.services import (
    CheckoutError,
    cart_for_buyer,
    cart_for_token,
    cart_item_add,
    cart_item_remove,
    cart_merge,
    order_place,
)

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 6


def _checkout_of(car: Car) -> Callable[[], object]:
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=car)
    return lambda: order_place(cart=cart, buyer=user.buyer, actor=user)


def test_a_staff_edit_from_a_page_loaded_before_a_checkout_keeps_the_inventory_exact():
    for round_number in range(ROUNDS):
        car = CarFactory(value=1000)
        edit_page = Car.objects.get(pk=car.pk)  # loaded before the buyer checks out
        checkout = _checkout_of(car)

        errors = run_together(
            [checkout, lambda page=edit_page, n=round_number: car_update(car=page, value=Decimal(2000 + n))]
        )

        assert errors == []
        assert Car.objects.get(pk=car.pk).status == CarStatus.RESERVED
        assert_store_is_true(f"round {round_number}")


def test_adding_cars_of_a_brand_never_waits_on_nor_deadlocks_with_its_checkouts():
    brand = BrandFactory()
    checkouts = [_checkout_of(CarFactory(brand=brand)) for _ in range(ROUNDS)]

    def add(number: int) -> Callable[[], object]:
        return lambda: car_create(brand=brand, model="New", factory_year=2020, model_year=2020, plate=f"ADD{number}")

    errors = run_together([*checkouts, *(add(n) for n in range(ROUNDS))])

    assert errors == []
    assert Car.objects.filter(brand=brand, status=CarStatus.RESERVED).count() == ROUNDS
    assert_store_is_true()


def _admin_delete(car: Car, staff: object) -> None:
    page = Client()
    page.force_login(staff)
    answer = page.post(f"/admin/catalog/car/{car.pk}/delete/", {"post": "yes"})
    if answer.status_code != 302:  # refused: the page says what keeps the car
        assert "Cannot delete" in answer.content.decode(), answer.status_code
        raise CarInUse("the admin refused")


# Each path that deletes one car: the service, a shell's instance delete, staff in the admin.
CAR_DELETES: dict[str, Callable[[Car, object], object]] = {
    "service": lambda car, staff: car_delete(car=Car.objects.get(pk=car.pk)),
    "instance": lambda car, staff: Car.objects.get(pk=car.pk).delete(),
    "admin": _admin_delete,
}


@pytest.mark.parametrize("path", CAR_DELETES)
def test_deleting_a_car_while_it_is_checked_out_is_a_clear_refusal_never_a_database_error(path):
    staff = UserFactory(is_staff=True, is_superuser=True)
    for round_number in range(ROUNDS):
        car = CarFactory()
        checkout = _checkout_of(car)

        errors = run_together([checkout, lambda c=car: CAR_DELETES[path](c, staff)])

        # Whoever locks the car first wins: the delete finds the order line (CarInUse, or the
        # ProtectedError Django's delete raises), or the checkout finds the car gone (CheckoutError).
        assert len(errors) <= 1 and all(isinstance(e, CarInUse | ProtectedError | CheckoutError) for e in errors), (
            errors
        )
        assert_store_is_true(f"round {round_number}")


def test_a_login_merging_a_visitor_cart_racing_an_add_never_lets_a_buyer_hold_more_than_the_limit(settings):
    from carsales.orders.models import CartItem
    from carsales.orders.services import cart_for_token, cart_merge

    limit = settings.CARSALES_MAX_CARS_HELD
    for round_number in range(ROUNDS):
        user = UserFactory()
        mine = cart_for_buyer(buyer=user.buyer)
        for _ in range(limit - 1):
            cart_item_add(cart=mine, car=CarFactory())
        visitor = cart_for_token(token=None)
        cart_item_add(cart=visitor, car=CarFactory())
        another_tab = CarFactory()

        run_together(
            [
                lambda v=visitor, m=mine: cart_merge(source=v, target=m),
                lambda m=mine, c=another_tab: cart_item_add(cart=m, car=c),
            ]
        )

        assert CartItem.objects.filter(cart=mine).count() <= limit, f"round {round_number}"


def test_an_admin_deletion_refused_by_a_line_committed_after_its_page_looked_is_asked_again(monkeypatch):
    """The admin's page found nothing keeping the car; a checkout's line came before the delete
    itself (here, in its transaction): the delete is refused, rolled back, and the page asked again."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    car = CarFactory()
    checkout = _checkout_of(car)
    real = Car.delete
    calls: list[int] = []

    def after_a_checkout(self: Car, *args: object, **kwargs: object) -> object:
        if not calls:
            checkout()
        calls.append(self.pk)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Car, "delete", after_a_checkout)
    page = Client()
    page.force_login(staff)

    answer = page.post(f"/admin/catalog/car/{car.pk}/delete/", {"post": "yes"})

    assert answer.status_code == 302 and calls == [car.pk, car.pk]  # refused once, then deleted
    assert not Car.objects.filter(pk=car.pk).exists()
    assert_store_is_true()


def test_an_admin_bulk_deletion_refused_by_a_line_committed_after_its_page_looked_is_asked_again(monkeypatch):
    from carsales.catalog.models import CarQuerySet

    staff = UserFactory(is_staff=True, is_superuser=True)
    car = CarFactory()
    checkout = _checkout_of(car)
    real = CarQuerySet.delete
    calls: list[bool] = []

    def after_a_checkout(self: CarQuerySet) -> object:
        if not calls:
            checkout()  # committed before the delete locks the car
        calls.append(True)
        return real(self)

    monkeypatch.setattr(CarQuerySet, "delete", after_a_checkout)
    page = Client()
    page.force_login(staff)

    chosen = {"action": "delete_selected", "_selected_action": [car.pk], "post": "yes"}
    answer = page.post("/admin/catalog/car/", chosen)

    assert answer.status_code == 200 and "Cannot delete" in answer.content.decode()
    assert Car.objects.filter(pk=car.pk).exists() and calls == [True]
    assert_store_is_true()


def test_a_visitor_adding_to_their_cart_as_they_log_in_gets_the_car_moved_or_a_404_never_an_error():
    for round_number in range(ROUNDS):
        mine = cart_for_buyer(buyer=UserFactory().buyer)
        visitor = cart_for_token(token=None)
        cart_item_add(cart=visitor, car=CarFactory())
        another_tab = CarFactory()

        errors = run_together(
            [
                lambda v=visitor, m=mine: cart_merge(source=Cart.objects.get(pk=v.pk), target=m),
                lambda v=visitor, c=another_tab: cart_item_add(cart=v, car=c),
            ]
        )

        # The add first: moved with the visitor's cart. The merge first: the add finds that cart gone.
        assert all(isinstance(error, DeletedMeanwhile) for error in errors), errors
        assert not Cart.objects.filter(pk=visitor.pk).exists()
        moved = CartItem.objects.filter(cart=mine, car=another_tab).exists()
        assert moved == (not errors), f"round {round_number}"
        assert_store_is_true(f"round {round_number}")


def test_a_log_in_merging_a_cart_while_staff_delete_one_of_its_cars_never_fails():
    for round_number in range(ROUNDS):
        mine = cart_for_buyer(buyer=UserFactory().buyer)
        visitor = cart_for_token(token=None)
        car = CarFactory()
        cart_item_add(cart=visitor, car=car)

        errors = run_together(
            [
                lambda v=visitor, m=mine: cart_merge(source=Cart.objects.get(pk=v.pk), target=m),
                lambda c=car: car_delete(car=Car.objects.get(pk=c.pk)),
            ]
        )

        assert not errors, errors
        assert not Car.objects.filter(pk=car.pk).exists() and not CartItem.objects.filter(car_id=car.pk).exists()
        assert_store_is_true(f"round {round_number}")


def test_a_car_taken_out_of_the_cart_in_another_tab_during_its_checkout_is_ordered_or_said_taken_out():
    for round_number in range(ROUNDS):
        user = UserFactory()
        cart = cart_for_buyer(buyer=user.buyer)
        kept, taken_out = CarFactory(), CarFactory()
        cart_item_add(cart=cart, car=kept)
        cart_item_add(cart=cart, car=taken_out)
        said: dict[str, bool] = {}

        errors = run_together(
            [
                lambda u=user, c=cart: order_place(cart=c, buyer=u.buyer, actor=u),
                lambda c=cart, t=taken_out, s=said: s.update(taken_out=cart_item_remove(cart=c, car_id=t.pk)),
            ]
        )

        assert not errors, errors
        ordered = OrderItem.objects.filter(order__buyer=user.buyer, car=taken_out).exists()
        assert ordered != said["taken_out"], f"round {round_number}: ordered {ordered}, said taken out {said}"
        assert_store_is_true(f"round {round_number}")


def test_a_car_delete_page_listing_a_cart_line_merged_away_meanwhile_is_asked_again(monkeypatch):
    """The page lists what goes with the car (a visitor's cart line, named by its cart); the visitor
    logs in as it lists, their cart merged away (here in the page's transaction): asked again."""
    from django.contrib.admin.utils import NestedObjects

    staff = UserFactory(is_staff=True, is_superuser=True)
    mine = cart_for_buyer(buyer=UserFactory().buyer)
    visitor = cart_for_token(token=None)
    car = CarFactory()
    cart_item_add(cart=visitor, car=car)
    real = NestedObjects.nested
    merged: list[bool] = []

    def merged_then_listed(self: NestedObjects, *args: object, **kwargs: object) -> object:
        if not merged:
            merged.append(True)
            cart_merge(source=visitor, target=mine)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(NestedObjects, "nested", merged_then_listed)
    page = Client()
    page.force_login(staff)

    answer = page.post(f"/admin/catalog/car/{car.pk}/delete/", {"post": "yes"})

    assert merged and answer.status_code == 302 and not Car.objects.filter(pk=car.pk).exists()
    assert_store_is_true()


CART_DELETES: dict[str, Callable[[int], object]] = {
    "instance": lambda cart_id: Cart.objects.get(pk=cart_id).delete(),
    "queryset": lambda cart_id: Cart.objects.filter(pk=cart_id).delete(),
}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite runs one write transaction at a time")
@pytest.mark.parametrize("path", CART_DELETES)
def test_a_cart_deleted_by_hand_while_a_car_is_added_to_it_takes_the_line_along(path):
    """A shell deletes a visitor's cart as a car is being added to it (the line written, not yet
    committed): the deletion waits for the add and takes its line, where it deleted the lines it
    saw and left the new one pointing at no cart (a foreign-key error at commit)."""
    cart, car = cart_for_token(token=None), CarFactory()
    line_written = threading.Event()
    errors: list[BaseException] = []

    def line_written_then_slow(execute: Any, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if sql.startswith('INSERT INTO "orders_cartitem"'):
            line_written.set()
            time.sleep(0.5)  # the add's remaining work, its cart lock held
        return result

    def add() -> None:
        try:
            with connection.execute_wrapper(line_written_then_slow):
                cart_item_add(cart=cart, car=car)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def delete() -> None:
        try:
            line_written.wait(10)
            CART_DELETES[path](cart.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=add), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert not Cart.objects.filter(pk=cart.pk).exists() and not CartItem.objects.exists()
    assert_store_is_true()


@pytest.mark.parametrize("path", CART_DELETES)
def test_an_add_to_a_cart_deleted_by_hand_meanwhile_is_a_404(path):
    cart, car = cart_for_token(token=None), CarFactory()
    CART_DELETES[path](cart.pk)

    with pytest.raises(DeletedMeanwhile):
        cart_item_add(cart=cart, car=car)


def test_a_carts_lines_are_deleted_by_a_statement_run_after_its_deletion_locks_it():
    """cart_leaving relies on it: lines collected as rows before the cart's lock (what a receiver on
    their deletion would make Django do) would miss one being added meanwhile."""
    from django.db.models.deletion import Collector

    assert Collector(using="default", origin=None).can_fast_delete(CartItem.objects.none())
