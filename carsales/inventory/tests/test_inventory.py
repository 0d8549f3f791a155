import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from carsales.catalog.models import Car
from carsales.catalog.services import car_delete, car_update
from carsales.conftest import CarFactory
from carsales.inventory.models import CarInventory, InventoryTotals
from carsales.inventory.receivers import car_deleted_update_inventory, car_saved_update_inventory
from carsales.inventory.selectors import inventory_current
from carsales.inventory.services import inventory_reconcile

pytestmark = pytest.mark.django_db


def current() -> tuple[int, Decimal]:
    snapshot = inventory_current()
    assert snapshot is not None
    return snapshot.cars_count, snapshot.cars_value


def test_the_seed_example_adding_then_deleting_a_car():
    """Seed 000: 10 cars worth 200,000, plus one of 50,000, then one of 30,000 deleted."""
    cars = [CarFactory(value=20_000) for _ in range(9)]
    cars.append(CarFactory(value=20_000))
    assert current() == (10, Decimal("200000"))

    CarFactory(value=50_000)
    assert current() == (11, Decimal("250000"))

    car_update(car=cars[0], value=Decimal("30000"))  # now 260,000
    car_delete(car=cars[0])
    assert current() == (10, Decimal("230000"))


def test_deleting_a_car_of_30000_from_11_worth_250000_leaves_10_worth_220000():
    for _ in range(8):
        CarFactory(value=20_000)
    CarFactory(value=10_000)
    CarFactory(value=50_000)
    doomed = CarFactory(value=30_000)
    assert current() == (11, Decimal("250000"))

    car_delete(car=doomed)

    assert current() == (10, Decimal("220000"))


def test_each_change_writes_one_new_snapshot_newest_first():
    car = CarFactory(value=100)
    car_update(car=car, value=Decimal("150"))

    snapshots = list(CarInventory.objects.values_list("cars_count", "cars_value"))

    assert snapshots == [(1, Decimal("150")), (1, Decimal("100"))]


def test_a_save_that_changes_no_value_writes_no_snapshot():
    car = CarFactory(value=100)

    car_update(car=car, model="Renamed")

    assert CarInventory.objects.count() == 1


def test_a_car_with_no_value_counts_but_adds_nothing():
    CarFactory(value=1000)
    CarFactory(value=None)

    assert current() == (2, Decimal("1000"))


def test_pricing_a_car_that_had_no_value_adds_its_value():
    car = CarFactory(value=None)

    car_update(car=car, value=Decimal("500"))

    assert current() == (1, Decimal("500"))


def test_deleting_the_last_car_leaves_an_empty_inventory():
    car = CarFactory(value=1234)

    car_delete(car=car)

    assert current() == (0, Decimal("0"))


def test_deleting_a_queryset_of_cars_takes_each_out():
    CarFactory.create_batch(3, value=100)
    CarFactory(value=7)

    Car.objects.filter(value=100).delete()

    assert current() == (1, Decimal("7"))


def test_an_edit_from_a_stale_instance_moves_the_total_by_the_stored_value():
    car = CarFactory(value=100)
    stale = Car.objects.get(pk=car.pk)
    car_update(car=car, value=Decimal("300"))

    car_update(car=stale, value=Decimal("200"))

    assert current() == (1, Decimal("200"))


def test_a_write_that_rolls_back_leaves_no_snapshot():
    CarFactory(value=100)

    with pytest.raises(RuntimeError), transaction.atomic():
        CarFactory(value=5000)
        raise RuntimeError("abort")

    assert current() == (1, Decimal("100"))
    assert InventoryTotals.objects.get().cars_count == 1


def test_a_change_costs_the_same_queries_however_many_cars_there_are(django_assert_max_num_queries):
    def queries_for_one_edit() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        car = CarFactory(value=1)
        with CaptureQueriesContext(connection) as captured:
            car_update(car=car, value=Decimal("2"))
        return len(captured)

    few = queries_for_one_edit()
    CarFactory.create_batch(40)
    many = queries_for_one_edit()

    assert few == many


def test_a_second_post_save_for_one_save_is_not_counted_twice():
    car = CarFactory(value=100)

    car_saved_update_inventory(sender=Car, instance=car, created=True, raw=False)

    assert current() == (1, Decimal("100"))


def test_a_second_delete_signal_for_a_car_already_gone_is_not_counted_twice():
    car = CarFactory(value=100)
    car_delete(car=car)

    car_deleted_update_inventory(sender=Car, instance=car)

    assert current() == (0, Decimal("0"))


def test_reconcile_reports_no_drift_when_the_totals_are_right(capsys):
    CarFactory.create_batch(3, value=10)

    call_command("reconcile_inventory")

    report = capsys.readouterr().out
    assert "No drift: 3 cars in stock worth $30 (3 available, 0 reserved, 0 withdrawn; 0 sold)." in report


def test_reconcile_reports_drift_and_fixes_it_on_request(capsys):
    CarFactory.create_batch(2, value=10)
    with InventoryTotals.own_writes.opened():  # a drift, as a raw write would leave
        InventoryTotals.objects.update(cars_count=5, cars_value=999)

    with pytest.raises(CommandError, match=re.escape(
        "Drift: recorded 5 cars in stock worth $999 (2 available, 0 reserved, 0 withdrawn; 0 sold), "
        "actual 2 cars in stock worth $20"
    )) as refused:  # fmt: skip
        call_command("reconcile_inventory")
    assert refused.value.returncode == 1 and InventoryTotals.objects.get().cars_count == 5

    call_command("reconcile_inventory", fix=True)
    assert "(fixed: the pages show 2 cars in stock worth $20" in capsys.readouterr().out
    assert current() == (2, Decimal("20"))
    assert InventoryTotals.objects.get().cars_count == 2
    call_command("reconcile_inventory")


def test_reconcile_finds_a_snapshot_written_by_hand_and_puts_the_totals_back_on_the_pages():
    CarFactory.create_batch(2, value=10)
    with CarInventory.own_writes.opened():  # what the pages now show
        CarInventory.objects.create(cars_count=5, cars_value=Decimal("1"))
    assert current() == (5, Decimal("1"))

    with pytest.raises(CommandError, match=re.escape("the pages show 5 cars in stock worth $1 ")):
        call_command("reconcile_inventory")

    call_command("reconcile_inventory", fix=True)
    assert current() == (2, Decimal("20"))
    assert not inventory_reconcile(fix=False).exists


def test_reconcile_on_an_empty_table_reports_zero(capsys):
    call_command("reconcile_inventory")

    assert "No drift: 0 cars in stock worth $0" in capsys.readouterr().out


def test_staff_see_the_inventory_page_with_a_chart(staff_client):
    CarFactory(value=100)
    CarFactory(value=200)

    response = staff_client.get("/staff/inventory/")

    assert response.status_code == 200
    assert b"<svg" in response.content and b"$300" in response.content


def test_the_inventory_page_works_before_the_first_car(staff_client):
    response = staff_client.get("/staff/inventory/")

    assert response.status_code == 200 and b"No data yet." in response.content


def test_the_current_snapshot_is_the_last_written_whatever_the_writers_clock_said():
    from datetime import timedelta

    from django.utils import timezone

    CarFactory(value=100)
    newest = CarFactory(value=50)
    # The server that wrote the newest snapshot runs a minute behind the one before it.
    with CarInventory.own_writes.opened():
        CarInventory.objects.filter(pk=CarInventory.objects.order_by("-pk").first().pk).update(
            created_at=timezone.now() - timedelta(minutes=1)
        )

    assert current() == (2, Decimal("150"))
    assert newest.pk and inventory_current() == CarInventory.objects.order_by("-pk").first()


@pytest.mark.parametrize("reader", ["stock staff", "salesperson"])
def test_the_link_past_the_longest_in_stock_names_what_the_readers_catalogue_lists(monkeypatch, reader):
    from datetime import timedelta

    from django.contrib.auth.models import Group
    from django.test import Client
    from django.utils import timezone

    from carsales.conftest import UserFactory, reserved_car
    from carsales.core.groups import SALESPERSON

    monkeypatch.setattr("carsales.inventory.views.AGEING_SHOWN", 1)
    cars = [CarFactory(), reserved_car()]
    Car.objects.filter(pk__in=[car.pk for car in cars]).update(created_at=timezone.now() - timedelta(days=100))
    user = UserFactory(is_staff=True, is_superuser=reader == "stock staff")
    if reader == "salesperson":
        user.groups.add(Group.objects.get(name=SALESPERSON))
    client = Client()
    client.force_login(user)

    page = client.get("/staff/inventory/", {"older_than": 90}).content.decode()
    listed = client.get("/", {"in_stock_days_min": 90, "ordering": "oldest"}).context["page"].paginator.count

    assert "2 cars in stock for 90 days or more" in page
    # Stock staff's catalogue lists both; a salesperson's, the one on sale: the link says which.
    assert (listed, "see them all" in page, "see those on sale" in page) == (
        (2, True, False) if reader == "stock staff" else (1, False, True)
    )


def test_the_stock_holds_a_fleet_of_the_dearest_cars_past_what_16_digits_held():
    """A car may cost up to 9,999,999,999.99: ten thousand of them overflowed the totals (a 500 on
    every car write after). Set near that line as a recount of such a fleet would leave it."""
    dearest = Decimal("9999999999.99")
    CarFactory(value=dearest)
    fleet = Decimal("99999999999990.00")  # 10^14 less a cent a car: the most 16 digits held
    with InventoryTotals.own_writes.opened():
        InventoryTotals.objects.update(cars_count=10_000, available_count=10_000, cars_value=fleet)

    CarFactory(value=dearest)

    count, value = current()
    assert count == 10_001 and InventoryTotals.objects.get().cars_value == value
    if connection.vendor == "postgresql":
        assert value == fleet + dearest
    else:  # SQLite keeps a decimal as a float (Django's backend): at 10^14, to within a cent
        assert abs(value - (fleet + dearest)) <= Decimal("0.01")
