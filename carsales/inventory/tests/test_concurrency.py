"""Concurrent writers, each on its own connection: on SQLite in this pass, on PostgreSQL in the
PostgreSQL pass of `make test` (row locks are real there)."""

from collections.abc import Callable
from decimal import Decimal

import pytest

from carsales.catalog.models import Car
from carsales.catalog.services import car_create, car_delete, car_update
from carsales.conftest import BrandFactory, CarFactory, run_together
from carsales.inventory.models import InventoryTotals
from carsales.inventory.selectors import inventory_current
from carsales.inventory.services import inventory_reconcile

pytestmark = pytest.mark.django_db(transaction=True)
WRITERS = 8


def test_concurrent_creations_are_all_counted():
    brand = BrandFactory()

    def add(number: int) -> Callable[[], None]:
        return lambda: car_create(
            brand=brand,
            model="Racer",
            factory_year=2020,
            model_year=2020,
            plate=f"RACE{number}",
            value=Decimal(1000 + number),
        )

    errors = run_together([add(n) for n in range(WRITERS)])

    assert errors == []
    snapshot = inventory_current()
    assert snapshot is not None
    assert (snapshot.cars_count, snapshot.cars_value) == (WRITERS, sum(Decimal(1000 + n) for n in range(WRITERS)))
    assert not inventory_reconcile(fix=False).exists


def test_concurrent_edits_of_one_car_leave_the_total_equal_to_its_final_value():
    car = CarFactory(value=100)

    def reprice(value: int) -> Callable[[], None]:
        return lambda: car_update(car=Car.objects.get(pk=car.pk), value=Decimal(value))

    errors = run_together([reprice(200 + n) for n in range(WRITERS)])

    assert errors == []
    final = Car.objects.get(pk=car.pk).value
    assert InventoryTotals.objects.get().cars_value == final
    assert not inventory_reconcile(fix=False).exists


def test_concurrent_deletes_of_one_car_take_it_out_once():
    CarFactory(value=50)
    car = CarFactory(value=100)

    errors = run_together([lambda: car_delete(car=Car.objects.get(pk=car.pk)) for _ in range(2)])

    assert all(isinstance(error, Car.DoesNotExist) for error in errors)
    totals = InventoryTotals.objects.get()
    assert (totals.cars_count, totals.cars_value) == (1, Decimal("50"))


def test_concurrent_plain_saves_outside_any_transaction_keep_the_inventory_exact():
    """A shell's bare car.save(), no service, no transaction: creations, and edits of one car, at once."""
    brand = BrandFactory()
    shared = CarFactory(brand=brand, value=100)

    def work(number: int) -> Callable[[], None]:
        def run() -> None:
            for step in range(5):
                car = Car.objects.get(pk=shared.pk)
                car.value = Decimal(1000 * number + step + 1)
                car.save()
                Car(brand=brand, model="Plain", factory_year=2020, model_year=2020, plate=f"P{number}-{step}").save()

        return run

    errors = run_together([work(n) for n in range(WRITERS)])

    assert errors == []
    assert Car.objects.count() == 1 + WRITERS * 5
    assert not inventory_reconcile(fix=False).exists
