"""A reservation not paid by its deadline is cancelled by a durable receiver deferred to it."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from carsales.catalog.models import CarStatus
from carsales.conftest import CarFactory, order_for
from carsales.events.models import Delivery
from carsales.orders.models import CancellationReason, Order, OrderStatus
from carsales.orders.services import OrderStateError, order_mark_paid
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


def test_an_order_past_its_deadline_cannot_be_paid_even_before_its_expiry_runs(staff, run_tasks):
    car = CarFactory()
    order = order_for(car)
    late = order.expires_at + timedelta(seconds=1)

    ran_out = rf"Order #{order.pk}'s reservation ran out on .*, unpaid; it cannot be paid"
    with time_machine.travel(late), pytest.raises(OrderStateError, match=ran_out):
        order_mark_paid(order=order, actor=staff, method="transfer")
    refused = Order.objects.get(pk=order.pk)
    with time_machine.travel(late):
        run_tasks()

    assert (refused.status, refused.payment_method) == (OrderStatus.PLACED, "")  # the refusal changes nothing
    order.refresh_from_db()
    car.refresh_from_db()
    assert (order.status, order.cancellation_reason) == (OrderStatus.CANCELLED, CancellationReason.EXPIRED)
    assert car.status == CarStatus.AVAILABLE


def test_an_order_paid_at_its_last_moment_is_paid(staff):
    order = order_for(CarFactory())

    with time_machine.travel(order.expires_at - timedelta(seconds=1)):
        order_mark_paid(order=order, actor=staff)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_past_the_deadline_no_path_pays_the_order(client, staff, staff_api):
    late, due = order_for(CarFactory()), order_for(CarFactory())
    Order.objects.filter(pk=due.pk).state_write(expires_at=late.expires_at + timedelta(hours=1))
    client.force_login(staff)

    with time_machine.travel(late.expires_at + timedelta(seconds=1)):
        page = client.get(late.get_absolute_url())
        asked = client.get(reverse("orders:order_pay", args=[late.pk]))
        posted = client.post(reverse("orders:order_pay", args=[late.pk]), {"method": "cash"}, follow=True)
        api = staff_api.post(f"/api/orders/{late.pk}/pay/", {"method": "cash"})
        both = {"action": "mark_paid", "_selected_action": [late.pk, due.pk], "post": "yes", "method": "cash"}
        admin = client.post("/admin/orders/order/", both, follow=True)

    assert b"reservation ran out on" in page.content and b"Mark paid" not in page.content
    assert asked.status_code == 302 and asked["Location"] == late.get_absolute_url()
    assert b"it cannot be paid" in posted.content
    assert api.status_code == 409 and "it cannot be paid" in api.json()["detail"]
    assert b"it cannot be paid" in admin.content and b"1 order(s) marked paid." in admin.content
    assert Order.objects.get(pk=late.pk).status == OrderStatus.PLACED
    assert Order.objects.get(pk=due.pk).status == OrderStatus.PAID


def test_a_buyer_cancelling_an_order_past_its_deadline_cancels_it_as_expired(client):
    order = order_for(CarFactory())
    client.force_login(order.buyer.user)

    with time_machine.travel(order.expires_at + timedelta(seconds=1)):
        page = client.get(order.get_absolute_url())
        client.post(reverse("orders:order_cancel", args=[order.pk]))

    assert b"Cancel order" not in page.content
    assert Order.objects.get(pk=order.pk).cancellation_reason == CancellationReason.EXPIRED
