"""Analytics: order events recorded once, daily figures moved in O(1), voids on the sale's day."""

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core import serializers
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from carsales.analytics.models import DailySales, OrderEvent
from carsales.analytics.receivers import count_paid_order, count_placed_order
from carsales.analytics.selectors import daily_sales_window
from carsales.analytics.services import analytics_recount, order_events_prune
from carsales.conftest import CarFactory, order_for
from carsales.events.services import housekeeping_run
from carsales.orders.services import order_cancel, order_mark_paid, order_record_refund
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
    with DailySales.own_writes.opened():  # a drift, as a crash between two writes could leave one
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


def test_the_sales_chart_shows_every_day_of_its_window_a_quiet_one_as_none_and_the_cards_the_latest_busy_day(
    staff_client,
):
    assert "No data yet." in staff_client.get("/staff/sales/").content.decode()
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        order_mark_paid(order=order_for(CarFactory(value=Decimal("10"))), actor=AnonymousUser())
    with time_machine.travel(timezone.now() - timedelta(days=200)):  # before the window: not drawn
        order_mark_paid(order=order_for(CarFactory(value=Decimal("99"))), actor=AnonymousUser())

    response = staff_client.get("/staff/sales/")

    window = daily_sales_window()
    assert [day.day for day in window] == [timezone.localdate() - timedelta(days=n) for n in range(89, -1, -1)]
    assert [(day.sales_count, day.revenue) for day in window if day.sales_count] == [(1, Decimal("10"))]
    assert window[-4].pk is not None and window[-1].pk is None  # the quiet days are zeros, stored nowhere
    points = re.search(r'<polyline class="line count" points="([^"]+)"', response.content.decode()).group(1)
    assert len(points.split()) == 90
    assert response.context["today"].day == timezone.localdate() - timedelta(days=3)


def test_a_refund_is_listed_with_the_orders_events_and_moves_no_figure(staff_client, staff):
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        order = order_mark_paid(order=order_for(CarFactory(value=Decimal("10"))), actor=AnonymousUser())
        sale_void(sale=order.sale, actor=None)
    before = list(DailySales.objects.order_by("day").values_list("day", "orders_placed", "sales_count", "revenue"))

    order_record_refund(order=order, actor=staff, reference="RF 1")
    refunds_listed = OrderEvent.objects.filter(kind=OrderEvent.Kind.REFUNDED).count()

    page = staff_client.get("/staff/sales/").content.decode()
    assert '<td data-label="Event">Refunded</td>' in page
    assert refunds_listed == 1
    assert (
        list(DailySales.objects.order_by("day").values_list("day", "orders_placed", "sales_count", "revenue")) == before
    )
    assert analytics_recount(fix=False) == []


def test_derived_figures_and_events_cannot_be_touched_in_the_admin(staff_client):
    order_for(CarFactory())
    day, event = DailySales.objects.get(), OrderEvent.objects.get()

    assert staff_client.post(f"/admin/analytics/dailysales/{day.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_client.post(f"/admin/analytics/orderevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_client.get("/admin/analytics/dailysales/add/").status_code == 403


def _two_orders_one_paid_days_ago(days: int):
    with time_machine.travel(timezone.now() - timedelta(days=days)):
        paid = order_mark_paid(order=order_for(CarFactory(value=Decimal("700"))), actor=AnonymousUser())
        order_for(CarFactory(value=Decimal("50")))
        return timezone.localdate(), paid


def test_pruned_days_keep_their_figures_and_the_recount_leaves_them(settings):
    settings.CARSALES_ANALYTICS_EVENT_DAYS = 730
    old_day, _paid = _two_orders_one_paid_days_ago(800)
    recent_day, _ = _two_orders_one_paid_days_ago(700)

    assert order_events_prune() == 2  # the old day's two placed; the payment of its standing sale stays

    assert list(OrderEvent.objects.filter(day=old_day).values_list("kind", flat=True)) == [OrderEvent.Kind.PAID]
    assert figures(old_day) == figures(recent_day) == (2, 1, Decimal("700"), 0)
    assert DailySales.objects.get(day=old_day).events_pruned
    assert not DailySales.objects.get(day=recent_day).events_pruned
    # The figures of a day with no events left are the record: a recount neither reports nor zeroes them.
    assert analytics_recount(fix=True) == []
    assert figures(old_day) == (2, 1, Decimal("700"), 0)
    assert order_events_prune() == 0


def test_a_sale_voided_after_its_days_events_were_pruned_is_taken_off_its_own_day():
    old_day, paid = _two_orders_one_paid_days_ago(800)
    order_events_prune(older_than=timedelta(days=30))

    sale_void(sale=paid.sale, actor=None)

    assert figures(old_day) == (2, 0, Decimal("0"), 1)
    assert not DailySales.objects.filter(day=timezone.localdate()).exists()
    assert analytics_recount(fix=False) == []  # the closed day, partly counted, is not recounted
    # The void's event and the payment of the sale that no longer stands, both of the sale's day.
    assert order_events_prune(older_than=timedelta(days=30)) == 2


def test_the_workers_housekeeping_prunes_order_events_and_so_does_the_command(settings, capsys):
    settings.CARSALES_ANALYTICS_EVENT_DAYS = 30
    old_day, _ = _two_orders_one_paid_days_ago(40)
    order_for(CarFactory())

    housekeeping_run()

    assert sorted(OrderEvent.objects.values_list("kind", flat=True)) == ["paid", "placed"]  # a standing sale's, today's
    assert DailySales.objects.get(day=old_day).events_pruned
    call_command("analytics_prune", "--days", "1")
    assert "Deleted 0 order events of days older than 1 days" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("analytics_prune", "--days", "0")


def test_the_sales_page_sums_the_last_7_and_30_days(staff_client):
    with time_machine.travel(timezone.now() - timedelta(days=20)):
        order_mark_paid(order=order_for(CarFactory(value=Decimal("1000"))), actor=AnonymousUser())
    with time_machine.travel(timezone.now() - timedelta(days=40)):
        order_mark_paid(order=order_for(CarFactory(value=Decimal("5000"))), actor=AnonymousUser())
    order_mark_paid(order=order_for(CarFactory(value=Decimal("200"))), actor=AnonymousUser())

    periods = staff_client.get("/staff/sales/").context["periods"]

    assert [(p.days, p.sales, p.revenue) for p in periods] == [(7, 1, Decimal("200")), (30, 2, Decimal("1200"))]


def _copy_of(row, **values):
    for name, value in values.items():
        setattr(row, name, value)
    return row


# Each writes the sales figures or the events they are counted from by hand, as a shell may.
FIGURES_BY_HAND = {
    "event update": lambda: OrderEvent.objects.filter(kind="paid").update(amount=1),
    "event bulk_update": lambda: OrderEvent.objects.bulk_update(
        [_copy_of(OrderEvent.objects.get(kind="paid"), amount=1)], ["amount"]
    ),
    "event save": lambda: _copy_of(OrderEvent.objects.get(kind="paid"), amount=1).save(),
    "event create": lambda: OrderEvent.objects.create(
        order_id=424242, kind="paid", amount=99999, cars=1, day=date.today()
    ),
    "event bulk_create": lambda: OrderEvent.objects.bulk_create(
        [OrderEvent(order_id=424242, kind="paid", amount=99999, cars=1, day=date.today())]
    ),
    "event delete": lambda: OrderEvent.objects.get(kind="paid").delete(),
    "event queryset delete": lambda: OrderEvent.objects.filter(kind="paid").delete(),
    "event base manager update": lambda: OrderEvent._base_manager.update(amount=1),
    "figures update": lambda: DailySales.objects.update(revenue=1),
    "figures save": lambda: _copy_of(DailySales.objects.get(), revenue=1).save(),
    "figures update_or_create": lambda: DailySales.objects.update_or_create(
        day=DailySales.objects.get().day, defaults={"revenue": 1}
    ),
    "figures create": lambda: DailySales.objects.create(day=date(2001, 1, 1), revenue=1),
    "figures delete": lambda: DailySales.objects.get().delete(),
    "figures queryset delete": lambda: DailySales.objects.all().delete(),
}


@pytest.mark.parametrize("path", FIGURES_BY_HAND)
def test_no_path_but_the_analytics_apps_own_writes_the_figures_or_their_events(path):
    order_mark_paid(order=order_for(CarFactory(value=Decimal("10"))), actor=AnonymousUser())
    stored = (list(OrderEvent.objects.values()), list(DailySales.objects.values()))

    with pytest.raises(TypeError, match="kept by the analytics app"), transaction.atomic():
        FIGURES_BY_HAND[path]()

    assert (list(OrderEvent.objects.values()), list(DailySales.objects.values())) == stored
    assert analytics_recount(fix=False) == []


def _load(tmp_path, rows: list[dict]) -> None:
    fixture = tmp_path / "analytics.json"
    fixture.write_text(json.dumps(rows))
    call_command("loaddata", str(fixture), verbosity=0)


def test_a_fixture_restores_the_figures_and_events_as_they_are_and_rewrites_neither(tmp_path):
    order_mark_paid(order=order_for(CarFactory(value=Decimal("10"))), actor=AnonymousUser())
    dump = json.loads(serializers.serialize("json", [*OrderEvent.objects.all(), *DailySales.objects.all()]))
    _load(tmp_path, dump)  # a dump loaded again: refused by nothing
    stored = (list(OrderEvent.objects.values()), list(DailySales.objects.values()))
    assert [row["amount"] for row in stored[0]] == [Decimal("10")] * 2 and stored[1][0]["revenue"] == Decimal("10")

    paid = next(row for row in dump if row["model"] == "analytics.orderevent" and row["fields"]["kind"] == "paid")
    figures_row = next(row for row in dump if row["model"] == "analytics.dailysales")
    made_up = {"model": "analytics.orderevent", "pk": 500, "fields": {**paid["fields"], "order_id": 424242}}
    pruned = {**figures_row["fields"], "revenue": "1.00", "events_pruned": True}
    for refused in (
        [{**paid, "fields": {**paid["fields"], "amount": "1.00"}}],  # an event rewritten
        [{**figures_row, "fields": {**figures_row["fields"], "revenue": "1.00"}}],  # the figures alone
        [{**figures_row, "fields": pruned}],  # the figures rewritten, said to be the record past the events
        [made_up],  # an event its day's figures do not count
    ):
        with pytest.raises((CommandError, TypeError)):
            _load(tmp_path, refused)
        assert (list(OrderEvent.objects.values()), list(DailySales.objects.values())) == stored
