from typing import Any

from carsales.orders.models import Order
from carsales.orders.signals import order_placed

from .services import order_confirmation_owe


def confirm_placed_order(sender: type, order: Order, **kwargs: Any) -> None:
    """Queue the buyer's confirmation email; it goes out only once the order has committed."""
    order_confirmation_owe(order=order)


order_placed.connect(confirm_placed_order, dispatch_uid="notifications.confirm_placed_order")
