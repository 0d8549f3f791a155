"""The helpers that keep running figures: a record written once, and the figures it moves."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from carsales.analytics.models import DailySales, OrderEvent
from carsales.conftest import CarFactory, order_for
from carsales.core.db import insert_unless_duplicate_then_update

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 5)


def record(order_id: int, kind: str = "placed") -> bool:
    return insert_unless_duplicate_then_update(
        OrderEvent(order_id=order_id, kind=kind, amount=Decimal("10"), cars=1, day=DAY),
        seeding=DailySales,
        lookup={"day": DAY},
        changes={"orders_placed": F("orders_placed") + 1, "revenue": F("revenue") + Decimal("10")},
    )


def test_a_record_moves_its_figures_once_making_their_row_on_first_use():
    first, second = order_for(CarFactory()), order_for(CarFactory())
    OrderEvent.objects.all().delete()  # the checkouts recorded theirs today
    DailySales.objects.filter(day=DAY).delete()

    assert record(first.pk)  # the day's first record: its row is made
    with CaptureQueriesContext(connection) as queries:
        assert record(second.pk)
    assert not record(second.pk)  # a repeat moves nothing

    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    figures = DailySales.objects.get(day=DAY)
    assert (figures.orders_placed, figures.revenue) == (2, Decimal("20"))
    assert OrderEvent.objects.filter(day=DAY).count() == 2
