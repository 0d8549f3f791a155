"""The emails carsales sends, each at most once per idempotency key."""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from carsales.accounts.models import Buyer
from carsales.accounts.services import email_change_token
from carsales.accounts.tokens import signup_token_generator
from carsales.events.effects import once
from carsales.orders.models import Order, OrderItem

from .mail import send_kept


class OrderEmail(Enum):
    """An email about an order: its template under notifications/ and its subject."""

    PLACED = ("order_confirmation", "Your {dealer} order #{pk} has been placed")
    PAID = ("order_paid", "Your {dealer} order #{pk} is paid")
    CANCELLED = ("order_cancelled", "Your {dealer} order #{pk} is cancelled")
    EXPIRED = ("order_expired", "Your {dealer} reservation #{pk} has expired")
    VOIDED = ("order_voided", "Your {dealer} order #{pk}: the sale was cancelled")
    REFUNDED = ("order_refunded", "Your {dealer} order #{pk}: your payment was refunded")

    def __init__(self, template: str, subject: str) -> None:
        self.template = template
        self.subject = subject


def order_summary(order: Order, *, lines: Iterable[OrderItem] | None = None, identity: bool = False) -> dict[str, Any]:
    """What an email about `order` says, as the order was when its event was sent: carried with
    the delivery, so the email owed goes out even if the order is deleted before the worker
    runs. Only the buyer's address is read when sending (it may have changed since). `lines`:
    the order's lines when the sender has them (cars and brands loaded); read otherwise.
    `identity`: each car's plate and VIN too, for the receipt only (the cars are the buyer's then):
    what a delivery carries is kept for days, and no other email names them."""
    if lines is None:
        lines = order.items.select_related("car__brand")
    return {
        "number": order.pk,
        "buyer_id": order.buyer_id,
        "lines": [
            {
                "car": str(line.car),
                "stock_code": line.car.stock_code,
                "price": str(line.price),
                **({"plate": line.car.plate, "vin": line.car.vin} if identity else {}),
            }
            for line in sorted(lines, key=lambda line: line.pk)
        ],
        "total": order.total,
        "total_price": str(order.total_price),
        "expires_at": order.expires_at.isoformat() if order.expires_at else None,
        "cancellation_reason": order.cancellation_reason,
        "paid_by": order.get_payment_method_display().lower() if order.payment_method else "",
        "payment_reference": order.payment_reference,
        "refund_reference": order.refund_reference,
    }


def message_id(key: str) -> str:
    """The Message-ID of the email sent under idempotency key `key`: the same on every retry,
    so a mail server or client that sees a repeat (a crash after the send) can drop it."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@carsales.local>"


def order_email_key(*, email: OrderEmail, order_id: int) -> str:
    """The idempotency key of `email` about an order: one of each per order, whichever event or
    delivery asks for it, since an order is placed, paid and cancelled at most once."""
    return f"notifications.{email.name.lower()}:order:{order_id}"


def order_email_send(*, email: OrderEmail, summary: dict[str, Any]) -> bool:
    """Send `email` about an order to its buyer, once per order; returns whether it was sent now.

    Args:
        email: which email.
        summary: the order as its event saw it (order_summary); the buyer's address is read now.
    Returns False, sending nothing, when the buyer is gone or has no address, or the email was
    sent before (its key, order_email_key, is done). Raises EffectBusy while another run is
    sending it, and the mail backend's error (SMTPException, OSError, a timeout) when the send
    fails; the key is then not done, so a retry sends it.
    """
    number = summary["number"]
    key = order_email_key(email=email, order_id=number)
    buyer = Buyer.objects.select_related("user").filter(pk=summary["buyer_id"]).first()
    if buyer is None or not buyer.user.email:
        return False
    expires_at = summary.get("expires_at")
    context = {
        "order": summary,
        "user": buyer.user,
        "link": f"{settings.CARSALES_SITE_URL}{reverse('orders:order_detail', kwargs={'pk': number})}",
        "expires_at": datetime.fromisoformat(expires_at) if expires_at else None,
        "dealer": settings.CARSALES_DEALER,  # who signs, and how the buyer reaches them
    }
    return _send_once(
        key=key,
        to=buyer.user.email,
        subject=email.subject.format(pk=number, dealer=settings.CARSALES_DEALER["name"]),
        body=render_to_string(f"notifications/{email.template}.txt", context),
    )


def _send_once(*, key: str, to: str, subject: str, body: str) -> bool:
    """Send an email once per idempotency `key`, with a Message-ID derived from it; returns
    whether it was sent now (False: sent before). Raises EffectBusy while another run sends it."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # The emails ask to "reply to this email": a reply reaches the dealership's own address.
        reply_to=[settings.CARSALES_DEALER["email"]] if settings.CARSALES_DEALER.get("email") else [],
        headers={"Message-ID": message_id(key)},
    )
    with once(key) as effect:
        if effect.already_done:
            return False
        send_kept(message)
    return True


ACCOUNT_TOKENS = {
    "signup_confirm": signup_token_generator,
    "signup_taken": None,
    "password_reset": default_token_generator,
    "password_changed": None,
    "email_change_confirm": None,
    "email_change_notice": None,
    "email_change_taken": None,
}


def account_email_send(*, kind: str, user_id: int, base_url: str, key: str, new_email: str = "") -> bool:
    """Send the account email `kind` (a key of ACCOUNT_TOKENS) to the user, once per `key` (the
    delivery's idempotency key); returns whether it was sent now.

    The link's token is made here, when sending, so no token sits in a stored row; a user
    deleted meanwhile gets nothing. Raises EffectBusy while another run sends it, and the mail
    backend's error when the send fails (the delivery retries it).
    """
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None or not user.email:
        return False
    generator = ACCOUNT_TOKENS[kind]
    protocol, domain = (base_url or settings.CARSALES_SITE_URL).split("://", 1)
    token = generator.make_token(user) if generator else ""
    if kind == "email_change_confirm":
        token = email_change_token(user=user, new_email=new_email)
    context = {
        "user": user,
        "protocol": protocol,
        "domain": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": token,
        "new_email": new_email,
        "dealer": settings.CARSALES_DEALER,  # who signs, as on the order emails
    }
    return _send_once(
        key=key,
        to=new_email if kind == "email_change_confirm" else user.email,
        subject="".join(render_to_string(f"accounts/{kind}_subject.txt", context).splitlines()),
        body=render_to_string(f"accounts/{kind}_email.txt", context),
    )
