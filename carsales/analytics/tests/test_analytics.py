"""Analytics: order events recorded once, daily figures moved in O(1), voids on the sale's day."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.utils import timezone

from carsales.analytics.models import DailySales, OrderEvent
from carsales.analytics.receivers import count_paid_order, count_placed_order
from carsales.analytics.services import analytics_recount
from carsales.conftest import CarFactory, order_for
from carsales.orders.services import order_cancel, order_mark_paid
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db


def figures(day) -> tuple[int, int, Decimal, int]:
    row = DailySales.objects.get(day=day)
    return row.orders_placed, row.sales_count, row.revenue, row.sales_voided


def test_the_order_flow_moves_the_days_figures():
    paid = order_for(CarFactory(value=Decimal("1000")))
    order_for(CarFactory(value=Decimal("50")))
    order_mark_paid(order=paid, actor=AnonymousUser())
    order_cancel(order=order_for(CarFactory(value=Decimal("5"))), actor=None)

    assert figures(timezone.localdate()) == (3, 1, Decimal("1000"), 0)
    assert OrderEvent.objects.count() == 5


def test_each_event_sent_twice_counts_once():
    order = order_mark_paid(order=order_for(CarFactory(value=Decimal("10"))), actor=AnonymousUser())

    count_placed_order(sender=type(order), order=order)
    count_paid_order(sender=type(order), order=order)

    assert figures(timezone.localdate()) == (1, 1, Decimal("10"), 0)


def test_a_sale_voided_on_a_later_day_is_taken_off_the_day_it_was_made():
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        sale_day = timezone.localdate()
        order = order_mark_paid(order=order_for(CarFactory(value=Decimal("700"))), actor=AnonymousUser())
        order_mark_paid(order=order_for(CarFactory(value=Decimal("300"))), actor=AnonymousUser())

    sale_void(sale=order.sale, actor=None)

    assert figures(sale_day) == (2, 1, Decimal("300"), 1)
    assert not DailySales.objects.filter(day=timezone.localdate()).exists()  # the void's day is not negative
    assert OrderEvent.objects.get(kind=OrderEvent.Kind.SALE_VOIDED).created_at.date() == timezone.now().date()


def test_recount_finds_a_drift_and_fixes_it(capsys):
    order_mark_paid(order=order_for(CarFactory(value=Decimal("10"))), actor=AnonymousUser())
    DailySales.objects.update(revenue=Decimal("999"))

    call_command("recount_analytics")
    assert (
        "recorded 1 placed, 1 sales, $999, 0 voided, actual 1 placed, 1 sales, $10, 0 voided" in capsys.readouterr().out
    )
    call_command("recount_analytics", "--fix")

    assert figures(timezone.localdate())[2] == Decimal("10") and analytics_recount(fix=False) == []


def test_the_sales_page_says_which_day_a_void_belongs_to(staff_client):
    order = order_mark_paid(order=order_for(CarFactory(value=Decimal("10"))), actor=AnonymousUser())
    sale_void(sale=order.sale, actor=None)

    page = staff_client.get("/staff/sales/").content.decode()

    assert "A voided sale is taken off the day it was made" in page and "1 of this day" in page


def test_derived_figures_and_events_cannot_be_touched_in_the_admin(staff_client):
    order_for(CarFactory())
    day, event = DailySales.objects.get(), OrderEvent.objects.get()

    assert staff_client.post(f"/admin/analytics/dailysales/{day.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_client.post(f"/admin/analytics/orderevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_client.get("/admin/analytics/dailysales/add/").status_code == 403
