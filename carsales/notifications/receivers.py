"""The buyer's emails about their order, each a durable receiver: written with the order's
transaction (none for a checkout that rolled back), sent after commit by a worker on the
"email" queue, retried until sent, and sent once per order (see services.order_email_send).

They share one lane per order, so one order's emails go out in the order of its events (placed
before paid before voided), and each carries what it says (order_summary), so an email owed
survives the order's deletion.
"""

from typing import Any

from django.db.models.signals import post_delete

from carsales.accounts.signals import account_email_owed
from carsales.events.durable import Event, durable_receiver
from carsales.orders.models import CancellationReason, Order
from carsales.orders.signals import order_cancelled, order_paid, order_placed, order_refunded
from carsales.sales.models import Sale

from .services import OrderEmail, account_email_send, order_email_send, order_summary

QUEUE = "email"
LANE = "notifications.order"  # one order's emails, in the order of its events


def _summary(kwargs: dict[str, Any], *, identity: bool = False) -> dict[str, Any]:
    return {"summary": order_summary(kwargs["order"], lines=kwargs.get("lines"), identity=identity)}


@durable_receiver(
    order_placed,
    sender=Order,
    dispatch_uid="notifications.confirm_placed_order",
    queue=QUEUE,
    ordered=LANE,
    carries={"order"},
    adds=_summary,
)
def confirm_placed_order(event: Event) -> None:
    order_email_send(email=OrderEmail.PLACED, summary=event.summary)


@durable_receiver(
    order_paid,
    sender=Order,
    dispatch_uid="notifications.confirm_paid_order",
    queue=QUEUE,
    ordered=LANE,
    carries={"order"},
    adds=lambda kwargs: _summary(kwargs, identity=True),  # the receipt names the cars sold
)
def confirm_paid_order(event: Event) -> None:
    order_email_send(email=OrderEmail.PAID, summary=event.summary)


@durable_receiver(
    order_cancelled,
    sender=Order,
    dispatch_uid="notifications.tell_cancelled_order",
    queue=QUEUE,
    ordered=LANE,
    carries={"order", "reason"},
    adds=_summary,
)
def tell_cancelled_order(event: Event) -> None:
    """An expired reservation gets its own wording; staff's and the buyer's cancellations share one."""
    email = OrderEmail.EXPIRED if event.reason == CancellationReason.EXPIRED else OrderEmail.CANCELLED
    order_email_send(email=email, summary=event.summary)


def _voided_summary(sale: Sale) -> dict[str, Any]:
    """The order, not the sale, so this email queues behind the order's others; and why the sale
    was voided, as the buyer is told it, read from the order as the void left it (staff's note
    stays with staff)."""
    voided = Order.objects.only("void_reason").get(pk=sale.order_id)
    told = {"void_told_buyer": voided.void_told_buyer, "refund_owed": voided.refund_owed}
    return {"order": sale.order, "summary": order_summary(sale.order) | told}


@durable_receiver(
    post_delete,
    sender=Sale,
    dispatch_uid="notifications.tell_voided_sale",
    queue=QUEUE,
    ordered=LANE,
    carries=(),
    adds=lambda kwargs: _voided_summary(kwargs["instance"]),
    # A stale copy of a sale voided already deletes nothing: no second email is owed for it.
    when=lambda kwargs: Sale.stored.before(kwargs["instance"]) is not None,
)
def tell_voided_sale(event: Event) -> None:
    """A sale voided by any path (staff's action, the admin, a shell) tells its buyer."""
    order_email_send(email=OrderEmail.VOIDED, summary=event.summary)


@durable_receiver(
    order_refunded,
    sender=Order,
    dispatch_uid="notifications.tell_refunded_order",
    queue=QUEUE,
    ordered=LANE,
    carries={"order"},
    adds=_summary,
)
def tell_refunded_order(event: Event) -> None:
    order_email_send(email=OrderEmail.REFUNDED, summary=event.summary)


@durable_receiver(
    account_email_owed,
    dispatch_uid="notifications.send_account_email",
    queue=QUEUE,
    ordered=False,
    carries={"kind", "user_id", "base_url", "new_email"},
)
def send_account_email(event: Event) -> None:
    """A sign-up's link, a taken-address notice, a password reset, an email change: retried
    while the mail server is down, visible on /staff/events/, sent once (its idempotency key)."""
    account_email_send(
        kind=event.kind,
        user_id=event.user_id,
        base_url=event.base_url,
        key=event.idempotency_key,
        new_email=event.kwargs.get("new_email", ""),
    )
