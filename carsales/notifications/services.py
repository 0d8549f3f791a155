from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from carsales.orders.models import Order

from .models import EmailNotification


def order_confirmation_owe(*, order: Order) -> EmailNotification | None:
    """Record that the buyer is owed a confirmation of `order` and queue it for sending.

    Runs inside the order's transaction: the notification and its job commit with the order or
    not at all. Returns None when it was already owed (a redelivered signal queues nothing).
    """
    from .tasks import email_notification_send

    notification, created = EmailNotification.objects.get_or_create(
        kind=EmailNotification.Kind.ORDER_CONFIRMATION,
        object_id=order.pk,
        defaults={"recipient": order.buyer.user.email},
    )
    if not created:
        return None
    email_notification_send.enqueue(notification.pk)
    return notification


def email_notification_deliver(*, notification_id: int) -> bool:
    """Send the email unless it was sent already; returns whether it was sent now.

    The row stays locked while sending, so two workers cannot both send it. A failure is
    counted and kept in last_error, then raised for the task to retry.
    """
    with transaction.atomic():
        notification = EmailNotification.objects.select_for_update().get(pk=notification_id)
        if notification.sent_at is not None or not notification.recipient:
            return False
        EmailNotification.objects.filter(pk=notification_id).update(attempts=F("attempts") + 1)
    order = (
        Order.objects.select_related("buyer__user").prefetch_related("items__car__brand").get(pk=notification.object_id)
    )
    context = {"order": order, "items": order.items.all(), "user": order.buyer.user}
    try:
        send_mail(
            subject=f"Your carsales order #{order.pk} is confirmed",
            message=render_to_string("notifications/order_confirmation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.recipient],
        )
    except Exception as error:
        EmailNotification.objects.filter(pk=notification_id).update(last_error=f"{type(error).__name__}: {error}")
        raise
    EmailNotification.objects.filter(pk=notification_id).update(sent_at=timezone.now(), last_error="")
    return True
