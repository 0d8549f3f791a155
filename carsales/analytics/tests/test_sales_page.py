"""The staff sales page: its orders and cars lead to their pages, for staff who may open them."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from carsales.conftest import CarFactory, UserFactory, order_for
from carsales.orders.services import order_cancel, order_mark_paid

pytestmark = pytest.mark.django_db


def _page_for(*codenames: str) -> str:
    user = UserFactory(is_staff=True)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    client = Client()
    client.force_login(user)
    return client.get("/staff/sales/").content.decode()


def test_staff_who_see_orders_find_each_sales_order_and_cars_and_each_events_order_linked(staff):
    car = CarFactory()
    sold = order_mark_paid(order=order_for(car), actor=staff)

    page = _page_for("analytics.view_dailysales", "orders.view_order")

    assert page.count(f'<a href="/orders/{sold.pk}/">#{sold.pk}</a>') == 3  # its sale, placed and paid events
    assert f'<a href="{car.get_absolute_url()}">{car}</a>' in page


def test_staff_who_may_not_open_orders_see_their_numbers_unlinked(staff):
    sold = order_mark_paid(order=order_for(CarFactory()), actor=staff)

    page = _page_for("analytics.view_dailysales")

    assert f"#{sold.pk}" in page and f'href="/orders/{sold.pk}/"' not in page


def test_an_event_of_a_deleted_order_is_not_a_link_to_a_missing_page(staff):
    order = order_for(CarFactory())
    order_cancel(order=order, actor=staff)
    number = order.pk
    order.delete()  # a cancelled order may go; its events stay

    page = _page_for("analytics.view_dailysales", "orders.view_order")

    assert f'<td data-label="Order">#{number}</td>' in page and f'href="/orders/{number}/"' not in page
