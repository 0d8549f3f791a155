from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import ProtectedError

from carsales.analytics.models import DailySales
from carsales.audit.models import AuditEntry
from carsales.catalog.models import CarStatus
from carsales.conftest import CarFactory, UserFactory
from carsales.core.state import transition
from carsales.orders.models import Order, OrderStatus
from carsales.orders.services import (
    OrderStateError,
    cart_for_buyer,
    cart_item_add,
    order_cancel,
    order_mark_paid,
    order_place,
)
from carsales.orders.signals import order_paid, order_payment_recorded
from carsales.sales.models import Sale
from carsales.sales.receivers import record_sale_for_paid_order
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db


def placed_order(*values):
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cars = [CarFactory(value=v) for v in values]
    for car in cars:
        cart_item_add(cart=cart, car=car)
    return order_place(cart=cart, buyer=user.buyer, actor=user), cars


def statuses(cars):
    return [type(c).objects.get(pk=c.pk).status for c in cars]


def test_a_paid_order_gets_one_sale_of_its_amount_and_its_cars_are_sold(staff):
    order, cars = placed_order(100, 50)

    order_mark_paid(order=order, actor=staff)

    sale = Sale.objects.get(order=order)
    assert sale.amount == Decimal("150")
    assert statuses(cars) == [CarStatus.SOLD, CarStatus.SOLD]
    day = DailySales.objects.get()
    assert (day.orders_placed, day.sales_count, day.revenue) == (1, 1, Decimal("150"))
    assert AuditEntry.objects.filter(action="order.paid", actor=staff).exists()


def test_a_redelivered_payment_creates_no_second_sale(staff):
    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    record_sale_for_paid_order(sender=Order, order=order)
    order_payment_recorded.send(sender=Order, order=order)
    order_paid.send_robust(sender=Order, order=order, actor=staff)

    assert Sale.objects.filter(order=order).count() == 1
    assert DailySales.objects.get().sales_count == 1


def test_an_order_cannot_be_paid_twice(staff):
    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    with pytest.raises(OrderStateError, match="is paid"):
        order_mark_paid(order=order, actor=staff)


def test_cancelling_a_placed_order_returns_its_cars_to_stock(staff):
    order, cars = placed_order(100)

    order_cancel(order=order, actor=staff)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert statuses(cars) == [CarStatus.AVAILABLE]
    assert not Sale.objects.exists()


def test_a_paid_order_cannot_be_cancelled(staff):
    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    with pytest.raises(OrderStateError):
        order_cancel(order=order, actor=staff)


def test_voiding_a_sale_deactivates_its_order_and_returns_the_cars(staff):
    order, cars = placed_order(100, 50)
    order_mark_paid(order=order, actor=staff)

    sale_void(sale=Sale.objects.get(order=order), actor=staff)

    assert Order.objects.get(pk=order.pk).is_active is False
    assert statuses(cars) == [CarStatus.AVAILABLE, CarStatus.AVAILABLE]
    day = DailySales.objects.get()
    assert (day.sales_count, day.revenue) == (0, Decimal("0"))
    assert AuditEntry.objects.filter(action="sale.voided").exists()


def test_deleting_a_sale_directly_also_deactivates_its_order(staff):
    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    Sale.objects.filter(order=order).delete()

    assert Order.objects.get(pk=order.pk).is_active is False


def test_a_paid_order_cannot_be_deleted_while_its_sale_stands_and_can_once_voided(staff):
    order, cars = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    with pytest.raises(ProtectedError):
        Order.objects.get(pk=order.pk).delete()

    sale_void(sale=Sale.objects.get(order=order), actor=staff)
    Order.objects.get(pk=order.pk).delete()
    assert statuses(cars) == [CarStatus.AVAILABLE] and not Order.objects.exists()


def test_a_payment_whose_sale_cannot_be_recorded_is_rolled_back(staff, monkeypatch):
    order, cars = placed_order(100)

    def broken_sale_record(**kwargs):
        raise RuntimeError("the sales table is unavailable")

    monkeypatch.setattr("carsales.sales.receivers.sale_record", broken_sale_record)
    with pytest.raises(RuntimeError):
        order_mark_paid(order=order, actor=staff)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    assert statuses(cars) == [CarStatus.RESERVED] and not Sale.objects.exists()


def test_a_sale_cannot_be_recorded_for_an_order_not_paid():
    order, _ = placed_order(100)

    with pytest.raises(TypeError, match=r"created by sales\.services\.sale_record only"), transaction.atomic():
        Sale.objects.create(order=order, amount=100)
    with pytest.raises(TypeError, match=r"created by sales\.services\.sale_record only"), transaction.atomic():
        Sale.objects.bulk_create([Sale(order=order, amount=100)])
    # Even the service's own path checks the order: a paid order only.
    with pytest.raises(TypeError, match="paid order only"), transaction.atomic(), transition():
        Sale.objects.create(order=order, amount=100)


def test_staff_void_a_sale_from_its_order_page_after_being_asked(staff):
    from django.test import Client

    from carsales.conftest import sold_car

    sold_car()
    sale = Sale.objects.get()
    client = Client()
    client.force_login(staff)
    order_page = client.get(sale.order.get_absolute_url()).content.decode()
    assert f'href="/sales/{sale.pk}/void/"' in order_page

    asked = client.get(f"/sales/{sale.pk}/void/")
    assert asked.status_code == 200 and f"Void the sale of order #{sale.order_id}?" in asked.content.decode()
    assert Sale.objects.filter(pk=sale.pk).exists()  # a GET voids nothing

    done = client.post(f"/sales/{sale.pk}/void/", follow=True)
    assert not Sale.objects.filter(pk=sale.pk).exists()
    assert f"The sale of order #{sale.order_id} is voided" in done.content.decode()


def test_the_admins_void_action_asks_first(staff):
    from django.test import Client

    from carsales.conftest import sold_car

    sold_car()
    sale = Sale.objects.get()
    client = Client()
    client.force_login(staff)

    asked = client.post("/admin/sales/sale/", {"action": "void", "_selected_action": [sale.pk]})
    assert asked.status_code == 200 and "Yes, go ahead" in asked.content.decode()
    assert Sale.objects.filter(pk=sale.pk).exists()

    client.post("/admin/sales/sale/", {"action": "void", "_selected_action": [sale.pk], "post": "yes"})
    assert not Sale.objects.filter(pk=sale.pk).exists()
