import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from carsales.conftest import CarFactory, UserFactory
from carsales.notifications.models import EmailNotification
from carsales.notifications.receivers import confirm_placed_order
from carsales.notifications.services import email_notification_deliver
from carsales.orders.models import Order
from carsales.orders.services import cart_for_buyer, cart_item_add, order_place

pytestmark = pytest.mark.django_db


def place_order(email="buyer@example.com"):
    user = UserFactory(email=email)
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory(value=100))
    return order_place(cart=cart, buyer=user.buyer, actor=user)


def test_the_receiver_queues_one_notification_even_when_delivered_twice():
    order = place_order()

    confirm_placed_order(sender=Order, order=order)

    assert EmailNotification.objects.count() == 1
    assert DBTaskResult.objects.count() == 1


def test_delivering_twice_sends_once():
    order = place_order()
    notification = EmailNotification.objects.get(object_id=order.pk)

    assert email_notification_deliver(notification_id=notification.pk) is True
    assert email_notification_deliver(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1


def test_a_failed_send_is_recorded_and_retried_later(run_tasks, monkeypatch):
    order = place_order()

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("carsales.notifications.services.send_mail", smtp_down)
    run_tasks()

    notification = EmailNotification.objects.get(object_id=order.pk)
    assert notification.sent_at is None and notification.attempts == 1
    assert "smtp down" in notification.last_error
    retry = DBTaskResult.objects.filter(status="READY").get()
    assert retry.run_after > timezone.now()  # scheduled with a delay, not hammering the server

    monkeypatch.undo()
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_tasks()

    notification.refresh_from_db()
    assert notification.sent_at is not None and notification.attempts == 2
    assert len(mail.outbox) == 1
