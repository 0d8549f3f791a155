"""The buyer's order emails: durable receivers, sent after commit by the worker, once per order."""

import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from carsales.conftest import CarFactory, UserFactory, order_for, run_together
from carsales.events.carry import InstanceData
from carsales.events.durable import Event
from carsales.events.effects import EffectBusy
from carsales.events.models import Delivery, EffectRecord
from carsales.events.services import delivery_run
from carsales.notifications.receivers import confirm_placed_order
from carsales.notifications.services import OrderEmail, message_id, order_email_key
from carsales.orders.models import CancellationReason, Order
from carsales.orders.services import order_cancel, order_mark_paid
from carsales.orders.signals import order_cancelled, order_paid, order_placed

pytestmark = pytest.mark.django_db

CONFIRM = "notifications.confirm_placed_order"


def placed(email="buyer@example.com"):
    return order_for(CarFactory(value=100), user=UserFactory(email=email))


def deliveries(receiver):
    return Delivery.objects.filter(receiver=receiver)


def test_placing_an_order_emails_one_confirmation_once_the_worker_runs(run_tasks):
    order = placed()
    assert mail.outbox == []  # nothing leaves inside the checkout

    run_tasks()
    run_tasks()

    (email,) = mail.outbox
    assert email.to == ["buyer@example.com"] and f"order #{order.pk} is confirmed" in email.subject
    assert "$100" in email.body
    assert email.extra_headers["Message-ID"] == message_id(order_email_key(email=OrderEmail.PLACED, order_id=order.pk))
    assert deliveries(CONFIRM).get().status == Delivery.Status.DONE


def test_a_rolled_back_checkout_owes_no_email(run_tasks):
    with pytest.raises(RuntimeError), transaction.atomic():
        placed()
        raise RuntimeError("payment gateway said no")
    run_tasks()

    assert mail.outbox == [] and not Delivery.objects.exists()


def test_order_placed_sent_directly_twice_and_redelivered_emails_once(run_tasks):
    order = placed()
    user = order.buyer.user

    order_placed.send(sender=Order, order=order, buyer=order.buyer, actor=user)
    run_tasks()
    first = deliveries(CONFIRM).first()
    Delivery.objects.filter(pk=first.pk).update(status=Delivery.Status.RETRYING)  # a worker lost after the send
    delivery_run(delivery_id=first.pk)

    assert len(mail.outbox) == 1
    assert deliveries(CONFIRM).count() == 2 and set(deliveries(CONFIRM).values_list("status", flat=True)) == {"done"}


def test_the_buyers_address_is_read_when_the_email_is_sent(run_tasks):
    order = placed(email="old@example.com")
    type(order.buyer.user).objects.filter(pk=order.buyer.user.pk).update(email="new@example.com")

    run_tasks()

    assert mail.outbox[0].to == ["new@example.com"]


def test_paying_an_order_emails_the_buyer_once(run_tasks, staff):
    order = placed()
    run_tasks()

    order_mark_paid(order=order, actor=staff)
    order_paid.send(sender=Order, order=order, actor=AnonymousUser())  # sent again by hand: no 2nd email
    run_tasks()

    paid = [email for email in mail.outbox if "is paid" in email.subject]
    assert len(paid) == 1 and "Total paid: $100" in paid[0].body


@pytest.mark.parametrize("reason", [CancellationReason.STAFF, CancellationReason.BUYER])
def test_cancelling_an_order_emails_the_buyer_once(run_tasks, staff, reason):
    order = placed()

    order_cancel(order=order, actor=staff, reason=reason)
    order_cancelled.send(sender=Order, order=order, actor=staff, reason=reason)
    run_tasks()

    cancelled = [email for email in mail.outbox if "is cancelled" in email.subject]
    assert len(cancelled) == 1 and "back on sale" in cancelled[0].body
    assert ("as you asked" in cancelled[0].body) == (reason == CancellationReason.BUYER)


def test_an_expired_order_gets_the_expiry_email_not_the_cancellation(run_tasks):
    order = placed()

    order_cancelled.send(sender=Order, order=order, actor=None, reason=CancellationReason.EXPIRED)
    run_tasks()

    subjects = [email.subject for email in mail.outbox]
    assert f"Your carsales reservation #{order.pk} has expired" in subjects
    assert not any("is cancelled" in subject for subject in subjects)


def test_a_failed_send_is_retried_later_with_the_error_visible_and_then_sent_once(run_tasks, monkeypatch):
    placed()

    def smtp_down(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailMessage, "send", smtp_down)
    run_tasks()

    delivery = deliveries(CONFIRM).get()
    assert delivery.status == Delivery.Status.RETRYING and "smtp down" in delivery.last_error
    assert delivery.run_after > timezone.now()  # a delay, not hammering the server

    monkeypatch.undo()
    Delivery.objects.filter(pk=delivery.pk).update(run_after=timezone.now())
    delivery_run(delivery_id=delivery.pk)

    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_email_at_once_send_it_once(monkeypatch):
    order = placed()
    send = EmailMessage.send

    def slow_send(self, fail_silently=False):
        time.sleep(0.5)  # the SMTP conversation, long enough for the other worker to arrive
        return send(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", slow_send)
    event = Event(
        receiver=CONFIRM,
        idempotency_key="k",
        attempt=1,
        sent_at=timezone.now(),
        sender="orders.order",
        kwargs={"order": InstanceData(model="orders.order", pk=order.pk, fields={})},
    )

    errors = run_together([lambda: confirm_placed_order(event) for _ in range(2)])

    assert len(mail.outbox) == 1
    assert [type(error) for error in errors] == [EffectBusy]  # the other one is retried later
    assert EffectRecord.objects.get().done_at is not None
