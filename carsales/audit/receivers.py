"""The audit log observes the order and sale events and notes who did what."""

from typing import Any

from django.db.models.signals import post_delete

from carsales.core.actor import current_actor
from carsales.orders.models import Order
from carsales.orders.signals import order_cancelled, order_paid, order_placed
from carsales.sales.models import Sale

from .services import audit_record


def log_order_placed(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="order.placed", target=order, detail={"total_price": str(order.total_price)})


def log_order_paid(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="order.paid", target=order)


def log_order_cancelled(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="order.cancelled", target=order)


def log_sale_voided(sender: type, instance: Sale, **kwargs: Any) -> None:
    """A sale removed by any path is logged with whoever is acting (None from a shell)."""
    audit_record(
        actor=current_actor(),
        action="sale.voided",
        target=instance,
        detail={"order": instance.order_id, "amount": str(instance.amount)},
    )


order_placed.connect(log_order_placed, dispatch_uid="audit.log_order_placed")
order_paid.connect(log_order_paid, dispatch_uid="audit.log_order_paid")
order_cancelled.connect(log_order_cancelled, dispatch_uid="audit.log_order_cancelled")
post_delete.connect(log_sale_voided, sender=Sale, dispatch_uid="audit.log_sale_voided")
