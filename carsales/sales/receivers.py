"""Sales follow the orders: a paid order becomes a sale; a removed sale deactivates its order."""

from typing import Any

from django.db.models.signals import pre_delete

from carsales.orders.models import Order
from carsales.orders.services import order_deactivate
from carsales.orders.signals import order_payment_recorded, orders_loaded

from .models import Sale
from .selectors import sale_contradictions
from .services import sale_record, void_given


def record_sale_for_paid_order(sender: type, order: Order, **kwargs: Any) -> None:
    """Seed 001's order → sale, in the payment's own transaction: no paid order without its sale."""
    sale_record(order=order)


def deactivate_order_of_voided_sale(sender: type, instance: Sale, **kwargs: Any) -> None:
    """Seed 001's pre_delete: deleting a sale, by any path, deactivates its order and puts the
    cars sold to it back on sale (the order cannot be deleted while the sale stands), keeping why
    when the path voiding it said (sale_void)."""
    reason, note = void_given()
    order_deactivate(order_id=instance.order_id, reason=reason, note=note)


def check_sales_of_loaded_orders(sender: type, **kwargs: Any) -> list[str]:
    """A fixture load's orders and sales agree: a sale for each paid active order, none for another."""
    return sale_contradictions()


order_payment_recorded.connect(record_sale_for_paid_order, dispatch_uid="sales.record_sale_for_paid_order")
orders_loaded.connect(check_sales_of_loaded_orders, dispatch_uid="sales.check_sales_of_loaded_orders")
pre_delete.connect(deactivate_order_of_voided_sale, sender=Sale, dispatch_uid="sales.deactivate_order_of_voided_sale")
