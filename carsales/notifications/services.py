"""The emails carsales sends, each at most once per idempotency key."""

import hashlib
from enum import Enum

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from carsales.events.effects import once
from carsales.orders.models import Order


class OrderEmail(Enum):
    """An email about an order: its template under notifications/ and its subject."""

    PLACED = ("order_confirmation", "Your carsales order #{pk} is confirmed")
    PAID = ("order_paid", "Your carsales order #{pk} is paid")
    CANCELLED = ("order_cancelled", "Your carsales order #{pk} is cancelled")
    EXPIRED = ("order_expired", "Your carsales reservation #{pk} has expired")

    def __init__(self, template: str, subject: str) -> None:
        self.template = template
        self.subject = subject


def message_id(key: str) -> str:
    """The Message-ID of the email sent under idempotency key `key`: the same on every retry,
    so a mail server or client that sees a repeat (a crash after the send) can drop it."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@carsales.local>"


def order_email_key(*, email: OrderEmail, order_id: int) -> str:
    """The idempotency key of `email` about an order: one of each per order, whichever event or
    delivery asks for it, since an order is placed, paid and cancelled at most once."""
    return f"notifications.{email.name.lower()}:order:{order_id}"


def order_email_send(*, email: OrderEmail, order_id: int) -> bool:
    """Send `email` about the order to its buyer, once per order; returns whether it was sent now.

    Args:
        email: which email.
        order_id: the order; its buyer's address is read now, not when the event was sent.
    Returns False, sending nothing, when the order was deleted, the buyer has no address or the
    email was sent before (its key, order_email_key, is done). Raises EffectBusy while another
    run is sending it, and the mail backend's error (SMTPException, OSError, a timeout) when the
    send fails; the key is then not done, so a retry sends it.
    """
    key = order_email_key(email=email, order_id=order_id)
    order = Order.objects.select_related("buyer__user").filter(pk=order_id).first()
    if order is None or not order.buyer.user.email:
        return False
    items = order.items.select_related("car__brand").order_by("pk")
    context = {"order": order, "items": items, "user": order.buyer.user}
    message = EmailMessage(
        subject=email.subject.format(pk=order.pk),
        body=render_to_string(f"notifications/{email.template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.buyer.user.email],
        headers={"Message-ID": message_id(key)},
    )
    with once(key) as effect:
        if effect.already_done:
            return False
        message.send()
    return True
