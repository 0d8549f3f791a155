"""The audit log observes the order and sale events and notes who did what."""

from typing import Any

from carsales.orders.models import Order
from carsales.orders.signals import order_cancelled, order_paid, order_placed
from carsales.sales.models import Sale
from carsales.sales.signals import sale_voided

from .services import audit_record


def log_order_placed(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="order.placed", target=order, detail={"total_price": str(order.total_price)})


def log_order_paid(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="order.paid", target=order)


def log_order_cancelled(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="order.cancelled", target=order)


def log_sale_voided(sender: type, sale: Sale, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="sale.voided", target=sale, detail={"order": order.pk, "amount": str(sale.amount)})


order_placed.connect(log_order_placed, dispatch_uid="audit.log_order_placed")
order_paid.connect(log_order_paid, dispatch_uid="audit.log_order_paid")
order_cancelled.connect(log_order_cancelled, dispatch_uid="audit.log_order_cancelled")
sale_voided.connect(log_sale_voided, dispatch_uid="audit.log_sale_voided")
