"""The order flow's operations for `manage.py signals --explain` (rolled back, nothing kept)."""

import secrets
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from carsales.catalog.explain import throwaway_brand, throwaway_car
from carsales.core.explain import scenario

from .models import Order
from .services import cart_for_buyer, cart_item_add, order_cancel, order_mark_paid, order_place


def checkout_ready() -> tuple[Callable[[], Order], Any]:
    """A new buyer with three cars in their cart; returns their checkout and the user."""
    user = get_user_model().objects.create_user(username=f"explain-{secrets.token_hex(4)}")
    brand = throwaway_brand()
    cart = cart_for_buyer(buyer=user.buyer)
    for _ in range(3):
        cart_item_add(cart=cart, car=throwaway_car(brand))
    return (lambda: order_place(cart=cart, buyer=user.buyer, actor=user)), user


@scenario("checkout", sends=("order_placed", "car_stock_moved"))
def checkout() -> Callable[[], object]:
    """A buyer's cart of three cars turned into an order (order_place)."""
    place, _user = checkout_ready()
    return place


@scenario("pay", sends=("order_paid", "order_payment_recorded", "sale_recorded"))
def pay() -> Callable[[], object]:
    """A placed order of three cars marked paid (order_mark_paid): its sale is recorded."""
    place, user = checkout_ready()
    order = place()
    return lambda: order_mark_paid(order=order, actor=user)


@scenario("cancel", sends=("order_cancelled",))
def cancel() -> Callable[[], object]:
    """A placed order of three cars cancelled by its buyer (order_cancel)."""
    place, user = checkout_ready()
    order = place()
    return lambda: order_cancel(order=order, actor=user)
