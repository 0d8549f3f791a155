"""Voiding a sale, for `manage.py signals --explain` (rolled back, nothing kept)."""

from collections.abc import Callable

from carsales.core.explain import scenario
from carsales.orders.explain import checkout_ready
from carsales.orders.models import VoidReason
from carsales.orders.services import order_mark_paid, order_record_refund

from .services import sale_void


@scenario("sales.Sale delete")
def void() -> Callable[[], object]:
    """A sale of three cars voided (sale_void): its order is deactivated, its cars back on sale."""
    place, user = checkout_ready()
    order = order_mark_paid(order=place(), actor=user)
    return lambda: sale_void(sale=order.sale, actor=user)


@scenario("refund", sends=("order_refunded",))
def refund() -> Callable[[], object]:
    """The payment of a voided sale of three cars recorded as refunded (order_record_refund)."""
    place, user = checkout_ready()
    order = order_mark_paid(order=place(), actor=user)
    sale_void(sale=order.sale, actor=user, reason=VoidReason.RETURNED)
    return lambda: order_record_refund(order=order, actor=user, reference="RF 1")
