"""Voiding a sale, for `manage.py signals --explain` (rolled back, nothing kept)."""

from collections.abc import Callable

from carsales.core.explain import scenario
from carsales.orders.explain import checkout_ready
from carsales.orders.services import order_mark_paid

from .services import sale_void


@scenario("sales.Sale delete")
def void() -> Callable[[], object]:
    """A sale of three cars voided (sale_void): its order is deactivated, its cars back on sale."""
    place, user = checkout_ready()
    order = order_mark_paid(order=place(), actor=user)
    return lambda: sale_void(sale=order.sale, actor=user)
