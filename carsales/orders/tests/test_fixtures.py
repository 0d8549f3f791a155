"""Fixtures (manage.py loaddata) keep the stock and the inventory right."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from carsales.catalog.models import Car
from carsales.conftest import BrandFactory, CarFactory, order_for
from carsales.core.tests.invariants import assert_store_is_true
from carsales.orders.models import Order, OrderItem
from carsales.orders.services import order_cancel

pytestmark = pytest.mark.django_db


def _car_fixture(tmp_path, brand, **fields):
    row = {
        "model": "catalog.car",
        "pk": 9001,
        "fields": {
            "brand": brand.pk,
            "model": "Loaded",
            "factory_year": 2020,
            "model_year": 2020,
            "plate": "FIX001",
            "value": "1234.00",
            "stock_code": "FIXTURE001",
            "status": "available",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            **fields,
        },
    }
    path = tmp_path / "cars.json"
    path.write_text(json.dumps([row]))
    return str(path)


def test_loading_cars_counts_them_in_the_inventory(tmp_path):
    CarFactory(value=100)

    call_command("loaddata", _car_fixture(tmp_path, BrandFactory()), verbosity=0)

    assert Car.objects.count() == 2
    assert_store_is_true()


def test_loading_a_fixture_over_a_stored_car_moves_the_inventory_by_the_difference(tmp_path):
    brand = BrandFactory()
    call_command("loaddata", _car_fixture(tmp_path, brand), verbosity=0)

    call_command("loaddata", _car_fixture(tmp_path, brand, value="2000.00"), verbosity=0)

    assert_store_is_true()


def test_a_fixture_of_reserved_cars_no_order_holds_is_refused_and_loads_nothing(tmp_path):
    with pytest.raises(CommandError, match=r"Loaded 2020 \(#9001\) is reserved but no order holds it"):
        call_command("loaddata", _car_fixture(tmp_path, BrandFactory(), status="reserved"), verbosity=0)

    assert not Car.objects.exists()
    assert_store_is_true()


@pytest.mark.django_db(transaction=True)  # flush empties every table, outside any test transaction
def test_a_dump_of_cars_with_their_orders_loads_back(tmp_path):
    order_for(CarFactory())
    path = tmp_path / "store.json"
    call_command("dumpdata", "catalog.brand", "catalog.car", "accounts", "auth.user", "orders", output=str(path))
    call_command("flush", "--noinput", verbosity=0)

    call_command("loaddata", str(path), verbosity=0)

    assert Car.objects.get().status == "reserved"
    assert_store_is_true()


@pytest.mark.django_db(transaction=True)  # flush empties every table, outside any test transaction
def test_a_placed_order_loaded_from_a_dump_expires_at_its_deadline_as_checkouts_does(tmp_path, run_tasks):
    """A dump of the orders holds no delivery: the order_placed that scheduled its expiry is
    checkout's. Loaded, the reservation still ends at its deadline and its car goes back on sale."""
    from carsales.events.models import Delivery
    from carsales.orders.models import CancellationReason, Order, OrderStatus

    order = order_for(CarFactory())
    path = tmp_path / "store.json"
    call_command("dumpdata", "catalog.brand", "catalog.car", "accounts", "auth.user", "orders", output=str(path))
    call_command("flush", "--noinput", verbosity=0)

    call_command("loaddata", str(path), verbosity=0)

    (expiry,) = Delivery.objects.filter(receiver="orders.expire_loaded_order")
    assert expiry.run_after == Order.objects.get(pk=order.pk).expires_at  # as dumped: to the millisecond
    with time_machine.travel(order.expires_at - timedelta(minutes=1)):
        run_tasks()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    with time_machine.travel(order.expires_at + timedelta(minutes=1)):
        run_tasks()
    ended = Order.objects.get(pk=order.pk)
    assert (ended.status, ended.cancellation_reason) == (OrderStatus.CANCELLED, CancellationReason.EXPIRED)
    assert Car.objects.get().status == "available"
    assert_store_is_true()


def test_a_placed_order_loaded_with_a_deadline_written_without_a_zone_expires_then(tmp_path):
    """A hand-written fixture's time with no zone is read in the default zone, as Django stores it."""
    from carsales.events.models import Delivery

    (row,) = _rows_of(order_for(CarFactory(value=5000)))
    (line,) = _rows_of(OrderItem.objects.get(order_id=row["pk"]))
    written = _car_fixture(tmp_path, BrandFactory(), status="reserved", value="5000.00")
    (car,) = json.loads(Path(written).read_text())
    row["pk"], line["pk"], line["fields"]["order"], line["fields"]["car"] = 9001, 9001, 9001, car["pk"]
    row["fields"]["expires_at"] = "2030-01-01T00:00:00"

    with pytest.warns(RuntimeWarning, match="naive datetime"):  # Django's, as it reads the time
        call_command("loaddata", _fixture(tmp_path, [car, row, line]), verbosity=0)

    (expiry,) = Delivery.objects.filter(receiver="orders.expire_loaded_order")
    assert expiry.run_after == Order.objects.get(pk=9001).expires_at == timezone.make_aware(datetime(2030, 1, 1))
    assert_store_is_true()


def test_an_order_stored_before_deadlines_existed_does_not_stop_another_load(tmp_path):
    """Only the orders a load writes are held to checkout's shape: the migration that added the
    deadline left those placed before it without one."""
    order = order_for(CarFactory())
    with connection.cursor() as cursor:  # as migration 0003 left it
        cursor.execute("UPDATE orders_order SET expires_at = NULL WHERE id = %s", [order.pk])

    call_command("loaddata", _car_fixture(tmp_path, BrandFactory()), verbosity=0)

    assert Car.objects.filter(pk=9001).exists()


def test_deleting_an_order_whole_asks_no_cancellation_of_it_per_line(staff, monkeypatch):
    """A placed order is never deleted (order_check_deletable): its lines going with it need no
    lock and read of it each to see whether it is left empty."""
    from carsales.orders import receivers

    asked: list[int] = []
    monkeypatch.setattr(receivers, "order_cancel_emptied", lambda order_id, actor: asked.append(order_id))
    order = order_for(CarFactory(), CarFactory(), CarFactory())
    order_cancel(order=order, actor=staff)

    Order.objects.get(pk=order.pk).delete()

    assert asked == [] and not OrderItem.objects.filter(order_id=order.pk).exists()


def _rows_of(*instances) -> list[dict]:
    from django.core import serializers

    return json.loads(serializers.serialize("json", instances))


def _fixture(tmp_path, rows: list[dict]) -> str:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    return str(path)


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        ({"total": 1, "total_price": "1.00"}, "order #9001 totals 1 cars / 1.00 but its lines 0 / "),
        ({"status": "paid", "paid_at": "2026-01-01T00:00:00Z"}, "paid order #9001 has no sale"),
        ({"total": 0, "total_price": "0.00"}, "order #9001 is placed but lists no car"),
        ({"total": 0, "total_price": "0.00", "expires_at": None}, "order #9001 is placed with no deadline to pay by"),
    ],
    ids=["totals not its lines'", "paid without a sale", "placed with no line", "placed with no deadline"],
)
def test_a_fixture_of_an_order_contradicting_its_lines_or_sales_is_refused_and_loads_nothing(tmp_path, changed, said):
    """A stored order keeps its state on load (core.receivers.state_guarded_save); a new one agrees with its rows."""
    from carsales.orders.models import Order

    (row,) = _rows_of(order_for(CarFactory(value=5000)))
    row["pk"] = 9001
    row["fields"].update(changed)

    with pytest.raises(CommandError, match=said):
        call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)

    assert not Order.objects.filter(pk=9001).exists()
    assert_store_is_true()


def test_a_fixture_of_a_sale_for_an_order_not_paid_is_refused(tmp_path):
    from carsales.conftest import sold_car
    from carsales.orders.models import Order
    from carsales.sales.models import Sale

    sold_car()
    sale = Sale.objects.get()
    placed = order_for(CarFactory())
    (row,) = _rows_of(sale)
    row["pk"], row["fields"]["order"] = 9001, placed.pk

    with pytest.raises(CommandError, match=rf"order #{placed.pk} has a sale but is not paid and active"):
        call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)

    assert Sale.objects.count() == 1 and Order.objects.get(pk=placed.pk).status == "placed"
    assert_store_is_true()


def test_a_fixture_releasing_a_car_its_paid_order_holds_is_refused(tmp_path):
    """Else the car is back on sale while its sale stands, and a second buyer can buy it."""
    from carsales.conftest import sold_car
    from carsales.orders.models import OrderItem

    car = sold_car()
    line = OrderItem.objects.get(car=car)
    (line_row,) = _rows_of(line)
    line_row["fields"]["holds_car"] = False
    (car_row,) = _rows_of(car)
    car_row["fields"]["status"] = "available"

    with pytest.raises(TypeError, match=rf"OrderItem #{line.pk}, loaded over the stored row: OrderItem holds_car"):
        call_command("loaddata", _fixture(tmp_path, [line_row, car_row]), verbosity=0)

    assert Car.objects.get(pk=car.pk).status == "sold"
    assert_store_is_true()


def test_a_fixture_of_a_sale_for_another_amount_than_its_orders_total_is_refused(tmp_path):
    from carsales.conftest import sold_car
    from carsales.sales.models import Sale

    sold_car()
    sale = Sale.objects.get()
    (row,) = _rows_of(sale)
    row["fields"]["amount"] = "1.00"

    with pytest.raises(TypeError, match=rf"Sale #{sale.pk}, loaded over the stored row: Sale amount"):
        call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)

    assert Sale.objects.get().amount == sale.amount


def test_a_fixture_may_restore_audit_entries_but_never_rewrite_one(tmp_path):
    from carsales.audit.models import AuditEntry

    CarFactory()
    entry = AuditEntry.objects.get()
    (row,) = _rows_of(entry)
    call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)  # a dump loaded again: as it is
    row["fields"].update(actor_name="mallory", created_at="2020-01-01T00:00:00Z")

    with pytest.raises(TypeError, match=rf"cannot rewrite entry #{entry.pk}"):
        call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)
    assert AuditEntry.objects.get().actor_name == entry.actor_name

    row["pk"] = entry.pk + 1000  # an entry this database does not hold: a restore
    row["fields"]["object_id"] = str(int(entry.object_id) + 1000)
    call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)
    assert AuditEntry.objects.filter(actor_name="mallory").count() == 1


def test_a_fixture_repricing_a_car_without_its_price_change_is_refused(tmp_path):
    car = CarFactory(value=12_000)
    (row,) = _rows_of(car)
    row["fields"]["value"] = "1000.00"

    with pytest.raises(CommandError, match=rf"car #{car.pk} is priced 1000.00 but its price history ends at 12000"):
        call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)

    assert Car.objects.get(pk=car.pk).value == 12_000
    assert_store_is_true()


def test_a_dump_with_a_repricing_loads_over_the_copy_before_it_without_doubling_its_history(tmp_path):
    from carsales.audit.models import AuditEntry
    from carsales.catalog.models import PriceChange, price_history_written
    from carsales.catalog.services import car_update

    car = CarFactory(value=12_000)
    before = _rows_of(car, *PriceChange.objects.filter(car=car), *AuditEntry.objects.all())
    car_update(car=car, value=1000)
    after = _rows_of(Car.objects.get(pk=car.pk), *PriceChange.objects.filter(car=car), *AuditEntry.objects.all())
    # The database as it was before the repricing (an older copy), put back by hand: the audit log
    # refuses a deletion on every ORM path.
    kept = {
        model: [r["pk"] for r in before if r["model"] == model] for model in ("catalog.pricechange", "audit.auditentry")
    }
    with price_history_written():
        PriceChange.objects.filter(car=car).exclude(pk__in=kept["catalog.pricechange"]).delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id > %s", [max(kept["audit.auditentry"])])
    call_command("loaddata", _fixture(tmp_path, [r for r in before if r["model"] == "catalog.car"]), verbosity=0)

    call_command("loaddata", _fixture(tmp_path, after), verbosity=0)

    assert list(PriceChange.objects.filter(car=car).values_list("new_value", flat=True).order_by("pk")) == [
        12_000,
        1000,
    ]
    assert AuditEntry.objects.filter(action="car.price_changed").count() == 1
    assert_store_is_true()


def test_a_fixture_of_new_cars_brings_its_own_history(tmp_path):
    from carsales.catalog.models import PriceChange

    call_command("loaddata", _car_fixture(tmp_path, BrandFactory()), verbosity=0)

    assert not PriceChange.objects.exists()


def test_a_fixture_cannot_move_an_order_to_another_buyer(tmp_path):
    from carsales.conftest import UserFactory
    from carsales.orders.models import Order

    order = order_for(CarFactory())
    (row,) = _rows_of(order)
    call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)  # the same order again: loads
    row["fields"]["buyer"] = UserFactory().buyer.pk

    with pytest.raises(TypeError, match=rf"Order #{order.pk}, loaded over the stored row: Order buyer"):
        call_command("loaddata", _fixture(tmp_path, [row]), verbosity=0)

    assert Order.objects.get(pk=order.pk).buyer_id == order.buyer_id


def test_a_fixture_cannot_move_an_order_line_to_another_order(tmp_path):
    from carsales.orders.models import OrderItem

    mine, theirs = order_for(CarFactory()), order_for(CarFactory())
    (line,) = _rows_of(mine.items.get())
    line["fields"]["order"] = theirs.pk

    with pytest.raises(TypeError, match=rf"OrderItem #{line['pk']}, loaded over the stored row: OrderItem order"):
        call_command("loaddata", _fixture(tmp_path, [line]), verbosity=0)

    assert OrderItem.objects.get(pk=line["pk"]).order_id == mine.pk
    assert_store_is_true()


def test_a_fixtures_inventory_rows_must_be_the_cars_they_count(tmp_path):
    from carsales.inventory.models import CarInventory, InventoryTotals

    CarFactory(value=100)
    dump = _rows_of(*InventoryTotals.objects.all(), *CarInventory.objects.all())
    CarFactory(value=50)  # a car the dump's totals do not count

    with pytest.raises(CommandError, match=r"the inventory's totals \(1 cars in stock worth \$100\) are not the cars'"):
        call_command("loaddata", _fixture(tmp_path, dump), verbosity=0)
    assert_store_is_true()

    edited = _rows_of(*InventoryTotals.objects.all())
    call_command("loaddata", _fixture(tmp_path, edited), verbosity=0)  # the totals as they are: loads
    assert_store_is_true()


def test_a_fixture_restores_the_inventorys_snapshots_as_taken_and_rewrites_none(tmp_path):
    from carsales.inventory.models import CarInventory

    CarFactory(value=100)
    CarFactory(value=50)
    dump = _rows_of(*CarInventory.objects.order_by("pk"))
    call_command("loaddata", _fixture(tmp_path, dump), verbosity=0)  # loaded again as they are
    first = dump[0]
    first["fields"]["cars_count"] = 999  # the stock's history, as the staff page charts it

    with pytest.raises(TypeError, match=rf"a fixture cannot rewrite snapshot #{first['pk']}"):
        call_command("loaddata", _fixture(tmp_path, [first]), verbosity=0)

    assert CarInventory.objects.get(pk=first["pk"]).cars_count == 1
    assert_store_is_true()


def _paid_order_fixture(tmp_path, **order_fields) -> tuple[str, int]:
    """A paid order's whole set (car, line, order, sale) as dumped, under new ids, its order's fields changed."""
    from django.contrib.auth.models import AnonymousUser
    from django.core import serializers

    from carsales.orders.models import Order, OrderItem
    from carsales.orders.services import order_mark_paid
    from carsales.sales.models import Sale

    car = CarFactory()
    order = order_mark_paid(order=order_for(car), actor=AnonymousUser(), method="card", reference="R1")
    stored = [Car.objects.get(pk=car.pk), *OrderItem.objects.filter(order=order), Order.objects.get(pk=order.pk)]
    rows = json.loads(serializers.serialize("json", [*stored, Sale.objects.get(order=order)]))
    shift = 1000
    for row in rows:
        row["pk"] += shift
        fields = row["fields"]
        if row["model"] == "catalog.car":
            code = fields["stock_code"]  # another code: the copy is another car
            fields.update(plate=f"NEW{car.pk}", stock_code=("Y" if code[0] == "X" else "X") + code[1:], vin="")
        for key in ("car", "order"):
            if key in fields:
                fields[key] += shift
        if row["model"] == "orders.order":
            fields.update(order_fields)
    path = tmp_path / "paid.json"
    path.write_text(json.dumps(rows))
    return str(path), order.pk + shift


@pytest.mark.parametrize(
    "payment",
    [
        {"payment_method": "bitcoin"},
        {"payment_reference": "  two\n\nlines "},
        {"payment_reference": "TR\u202e9"},  # turns the text around on the buyer's receipt
        {"payment_reference": "TR\xa09"},  # a space, but not the one the order flow keeps
        {"payment_reference": "TR\xad9"},
        {"payment_reference": "TR\u061c9"},
        {"payment_reference": "R" * 101},
    ],
)
def test_a_fixture_cannot_load_a_payment_the_order_flow_would_refuse(tmp_path, payment):
    from django.db import DataError, IntegrityError

    from carsales.orders.models import Order

    path, loaded = _paid_order_fixture(tmp_path, **payment)

    with pytest.raises((IntegrityError, DataError, CommandError)):  # PostgreSQL's column refuses a long one first
        call_command("loaddata", path, verbosity=0)
    assert not Order.objects.filter(pk=loaded).exists()


def test_a_fixture_loads_a_payment_as_the_order_flow_records_it(tmp_path):
    from carsales.orders.models import Order

    path, loaded = _paid_order_fixture(tmp_path, payment_method="transfer", payment_reference="TR 2026-118")

    call_command("loaddata", path, verbosity=0)

    assert Order.objects.filter(pk=loaded, payment_method="transfer", payment_reference="TR 2026-118").exists()
    assert_store_is_true()


@pytest.mark.parametrize(
    "refund",
    [
        {"refunded_at": "2026-01-02T00:00:00Z"},  # the sale stands: nothing to refund
        {"refund_reference": "RF 1"},  # a reference of no refund
    ],
)
def test_a_fixture_cannot_load_a_refund_the_order_flow_would_refuse(tmp_path, refund):
    from django.db import IntegrityError

    from carsales.orders.models import Order

    path, loaded = _paid_order_fixture(tmp_path, **refund)

    with pytest.raises((IntegrityError, CommandError)):
        call_command("loaddata", path, verbosity=0)
    assert not Order.objects.filter(pk=loaded).exists()
