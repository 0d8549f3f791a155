import pytest

from carsales.conftest import CarFactory, UserFactory, run_together
from carsales.orders.models import Order
from carsales.orders.services import cart_for_buyer, cart_item_add, order_mark_paid, order_place
from carsales.sales.models import Sale
from carsales.sales.services import sale_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_recordings_of_one_paid_order_make_one_sale(staff):
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory(value=100))
    order = order_mark_paid(order=order_place(cart=cart, buyer=user.buyer, actor=user), actor=staff)

    errors = run_together([lambda: sale_record(order=Order.objects.get(pk=order.pk)) for _ in range(4)])

    assert errors == []
    assert Sale.objects.filter(order=order).count() == 1


def test_concurrent_payments_of_one_order_pay_it_once(staff):
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory(value=100))
    order = order_place(cart=cart, buyer=user.buyer, actor=user)

    errors = run_together(
        [lambda: order_mark_paid(order=Order.objects.get(pk=order.pk), actor=staff) for _ in range(3)]
    )

    assert len(errors) == 2
    assert Sale.objects.filter(order=order).count() == 1
