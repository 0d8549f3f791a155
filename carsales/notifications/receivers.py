"""The buyer's emails about their order, each a durable receiver: written with the order's
transaction (none for a checkout that rolled back), sent after commit by a worker on the
"email" queue, retried until sent, and sent once per order (see services.order_email_send)."""

from carsales.events.durable import Event, durable_receiver
from carsales.orders.models import CancellationReason, Order
from carsales.orders.signals import order_cancelled, order_paid, order_placed

from .services import OrderEmail, order_email_send

QUEUE = "email"


@durable_receiver(
    order_placed, sender=Order, dispatch_uid="notifications.confirm_placed_order", queue=QUEUE, carries={"order"}
)
def confirm_placed_order(event: Event) -> None:
    order_email_send(email=OrderEmail.PLACED, order_id=event.order.pk)


@durable_receiver(
    order_paid, sender=Order, dispatch_uid="notifications.confirm_paid_order", queue=QUEUE, carries={"order"}
)
def confirm_paid_order(event: Event) -> None:
    order_email_send(email=OrderEmail.PAID, order_id=event.order.pk)


@durable_receiver(
    order_cancelled,
    sender=Order,
    dispatch_uid="notifications.tell_cancelled_order",
    queue=QUEUE,
    carries={"order", "reason"},
)
def tell_cancelled_order(event: Event) -> None:
    """An expired reservation gets its own wording; staff's and the buyer's cancellations share one."""
    email = OrderEmail.EXPIRED if event.reason == CancellationReason.EXPIRED else OrderEmail.CANCELLED
    order_email_send(email=email, order_id=event.order.pk)
