"""A reservation not paid by its deadline is cancelled by a durable receiver deferred to it."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from carsales.catalog.models import CarStatus
from carsales.conftest import CarFactory, order_for
from carsales.events.models import Delivery
from carsales.orders.models import CancellationReason, Order, OrderStatus
from carsales.orders.services import order_mark_paid
from carsales.orders.signals import order_placed

pytestmark = pytest.mark.django_db

EXPIRE = "orders.expire_unpaid_order"


def expiries():
    return Delivery.objects.filter(receiver=EXPIRE)


def test_placing_an_order_defers_its_expiry_to_the_deadline():
    order = order_for(CarFactory())

    assert expiries().get().run_after == order.expires_at


def test_before_the_deadline_nothing_happens(run_tasks):
    car = CarFactory()
    order = order_for(car)

    with time_machine.travel(order.expires_at - timedelta(minutes=1)):
        run_tasks()

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    assert expiries().get().status == Delivery.Status.PENDING


def test_past_the_deadline_the_order_is_cancelled_once_its_cars_freed_and_the_buyer_told(run_tasks):
    car = CarFactory()
    order = order_for(car)
    run_tasks()  # the confirmation

    with time_machine.travel(order.expires_at + timedelta(seconds=1)):
        run_tasks()
        run_tasks()

    order.refresh_from_db()
    car.refresh_from_db()
    assert (order.status, order.cancellation_reason) == (OrderStatus.CANCELLED, CancellationReason.EXPIRED)
    assert car.status == CarStatus.AVAILABLE
    assert [email.subject for email in mail.outbox].count(f"Your carsales reservation #{order.pk} has expired") == 1
    assert expiries().get().status == Delivery.Status.DONE


def test_a_paid_order_is_untouched_at_its_deadline(run_tasks, staff):
    car = CarFactory()
    order = order_mark_paid(order=order_for(car), actor=staff)

    with time_machine.travel(order.expires_at + timedelta(seconds=1)):
        run_tasks()

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert type(car).objects.get(pk=car.pk).status == CarStatus.SOLD
    assert expiries().get().status == Delivery.Status.DONE
    assert not any("expired" in email.subject for email in mail.outbox)


def test_order_placed_sent_directly_again_expires_the_order_once(run_tasks):
    order = order_for(CarFactory())
    order_placed.send(sender=Order, order=order, buyer=order.buyer, actor=order.buyer.user)

    with time_machine.travel(order.expires_at + timedelta(seconds=1)):
        run_tasks()

    assert expiries().count() == 2 and set(expiries().values_list("status", flat=True)) == {"done"}
    assert Order.objects.get(pk=order.pk).cancellation_reason == CancellationReason.EXPIRED
    assert [email.subject for email in mail.outbox].count(f"Your carsales reservation #{order.pk} has expired") == 1


def test_a_deadline_moved_later_is_retried_when_due(run_tasks):
    order = order_for(CarFactory())
    later = order.expires_at + timedelta(hours=1)
    Order.objects.filter(pk=order.pk).state_write(expires_at=later)  # as staff granting more time would

    with time_machine.travel(order.expires_at + timedelta(seconds=1)):
        run_tasks()
    assert expiries().get().status == Delivery.Status.RETRYING
    with time_machine.travel(later + timedelta(seconds=1)):
        run_tasks()

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
