from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from carsales.analytics.models import DailySales, OrderEvent
from carsales.catalog.models import CarStatus
from carsales.conftest import CarFactory, UserFactory
from carsales.core.models import ReceiverFailure
from carsales.notifications.models import EmailNotification
from carsales.orders.models import CartItem, Order
from carsales.orders.services import CheckoutError, cart_for_buyer, cart_item_add, order_place
from carsales.orders.signals import order_placed

pytestmark = pytest.mark.django_db


def cart_with(user, *cars):
    cart = cart_for_buyer(buyer=user.buyer)
    for car in cars:
        cart_item_add(cart=cart, car=car)
    return cart


def test_checkout_creates_the_order_at_current_prices_reserves_the_cars_and_empties_the_cart():
    user = UserFactory()
    a, b = CarFactory(value=100), CarFactory(value=50)

    order = order_place(cart=cart_with(user, a, b), buyer=user.buyer, actor=user)

    assert (order.total, order.total_price) == (2, Decimal("150"))
    assert sorted(order.items.values_list("price", flat=True)) == [Decimal("50"), Decimal("100")]
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == b.status == CarStatus.RESERVED
    assert not CartItem.objects.filter(cart__buyer=user.buyer).exists()


def test_a_reserved_car_leaves_other_buyers_carts():
    first, second = UserFactory(), UserFactory()
    car = CarFactory()
    cart_with(second, car)

    order_place(cart=cart_with(first, car), buyer=first.buyer, actor=first)

    assert not CartItem.objects.filter(cart__buyer=second.buyer).exists()


def test_an_empty_cart_is_refused_and_nothing_is_sent():
    user = UserFactory()
    received = []
    order_placed.connect(lambda **kw: received.append(kw), dispatch_uid="test.empty")
    try:
        with pytest.raises(CheckoutError, match=r"Your cart is empty\."):
            order_place(cart=cart_for_buyer(buyer=user.buyer), buyer=user.buyer, actor=user)
    finally:
        order_placed.disconnect(dispatch_uid="test.empty")

    assert received == [] and not Order.objects.exists()


def test_another_buyers_cart_is_refused():
    owner, other = UserFactory(), UserFactory()

    with pytest.raises(CheckoutError, match="not yours"):
        order_place(cart=cart_with(owner, CarFactory()), buyer=other.buyer, actor=other)

    assert not Order.objects.exists()


def test_a_car_no_longer_available_is_refused_with_its_name_and_nothing_is_written():
    user = UserFactory()
    free, taken = CarFactory(model="Free"), CarFactory(model="Taken")
    cart = cart_with(user, free, taken)
    taken.status = CarStatus.SOLD
    taken.save()

    with pytest.raises(CheckoutError, match=r"No longer available: .*Taken"):
        order_place(cart=cart, buyer=user.buyer, actor=user)

    free.refresh_from_db()
    assert free.status == CarStatus.AVAILABLE and not Order.objects.exists() and cart.items.count() == 2


def test_checkout_queues_one_confirmation_email_sent_by_the_worker(run_tasks, django_capture_on_commit_callbacks):
    user = UserFactory(email="buyer@example.com")

    order = order_place(cart=cart_with(user, CarFactory(value=100)), buyer=user.buyer, actor=user)
    assert mail.outbox == []  # nothing leaves before the worker runs the committed job
    run_tasks()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyer@example.com"]
    assert f"order #{order.pk}" in mail.outbox[0].subject and "$100" in mail.outbox[0].body


def test_a_redelivered_order_placed_sends_no_second_email_and_counts_once(run_tasks):
    user = UserFactory()
    order = order_place(cart=cart_with(user, CarFactory(value=100)), buyer=user.buyer, actor=user)

    order_placed.send_robust(sender=Order, order=order, buyer=user.buyer, actor=user)
    run_tasks()

    assert len(mail.outbox) == 1
    assert EmailNotification.objects.count() == 1
    assert OrderEvent.objects.filter(order_id=order.pk, kind="placed").count() == 1
    assert DailySales.objects.get().orders_placed == 1


def test_a_rolled_back_checkout_sends_no_email_and_records_no_analytics(run_tasks):
    user = UserFactory()
    cart = cart_with(user, CarFactory(value=100))

    with pytest.raises(RuntimeError), transaction.atomic():
        order_place(cart=cart, buyer=user.buyer, actor=user)
        raise RuntimeError("payment gateway said no")
    run_tasks()

    assert mail.outbox == []
    assert not OrderEvent.objects.exists() and not DailySales.objects.exists()
    assert not Order.objects.exists()


def test_a_failing_receiver_does_not_break_checkout_and_is_recorded(caplog):
    user = UserFactory()

    def broken(**kwargs):
        OrderEvent.objects.create(order_id=0, kind="placed", amount=0, cars=0)  # rolled back with it
        raise ValueError("analytics warehouse is down")

    order_placed.connect(broken, dispatch_uid="test.broken")
    try:
        order = order_place(cart=cart_with(user, CarFactory(value=100)), buyer=user.buyer, actor=user)
    finally:
        order_placed.disconnect(dispatch_uid="test.broken")

    assert Order.objects.filter(pk=order.pk).exists()
    failure = ReceiverFailure.objects.get()
    assert failure.signal == "order_placed" and failure.receiver.endswith("broken")
    assert "ValueError: analytics warehouse is down" in failure.error and "Traceback" in failure.traceback
    assert "analytics warehouse is down" in caplog.text
    assert not OrderEvent.objects.filter(order_id=0).exists()
    assert OrderEvent.objects.filter(order_id=order.pk).exists()  # the other receivers ran


def test_a_receiver_without_a_dispatch_uid_is_refused():
    with pytest.raises(ValueError, match="dispatch_uid"):
        order_placed.connect(lambda **kw: None)


def test_checkout_costs_the_same_queries_whatever_the_number_of_cars():
    def queries_to_check_out(cars_in_cart: int) -> int:
        user = UserFactory()
        cart = cart_with(user, *CarFactory.create_batch(cars_in_cart))
        with CaptureQueriesContext(connection) as captured:
            order_place(cart=cart, buyer=user.buyer, actor=user)
        return len(captured)

    queries_to_check_out(1)  # the day's first order also creates its analytics row

    assert queries_to_check_out(1) == queries_to_check_out(10)
