"""Sales follow the orders: a paid order becomes a sale; a voided sale deactivates its order."""

from typing import Any

from django.db.models.signals import pre_delete

from carsales.orders.models import Order
from carsales.orders.services import order_deactivate
from carsales.orders.signals import order_paid

from .models import Sale
from .services import sale_record


def record_sale_for_paid_order(sender: type, order: Order, **kwargs: Any) -> None:
    sale_record(order=order)


def deactivate_order_of_voided_sale(sender: type, instance: Sale, origin: Any = None, **kwargs: Any) -> None:
    """Seed 001's pre_delete: deleting a sale deactivates its order and returns its cars.

    When the order itself is being deleted (the sale goes with it by cascade) there is nothing
    to deactivate, so no write is made.
    """
    if isinstance(origin, Order) or (origin is not None and getattr(origin, "model", None) is Order):
        return
    order_deactivate(order_id=instance.order_id)


order_paid.connect(record_sale_for_paid_order, dispatch_uid="sales.record_sale_for_paid_order")
pre_delete.connect(deactivate_order_of_voided_sale, sender=Sale, dispatch_uid="sales.deactivate_order_of_voided_sale")
