"""Prices changed many at once (a queryset update, a bulk_update): every record follows, in a
number of statements that does not grow with the number of cars."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from carsales.audit.models import AuditEntry
from carsales.catalog.models import Car, PriceChange
from carsales.catalog.signals import cars_repriced
from carsales.conftest import CarFactory, order_for
from carsales.core.tests.invariants import assert_store_is_true
from carsales.inventory.models import CarInventory
from carsales.inventory.selectors import inventory_current

pytestmark = pytest.mark.django_db


def test_a_sale_on_every_car_in_stock_moves_the_inventory_once_and_records_each_price(sent_signals):
    cars = CarFactory.create_batch(4, value=Decimal("1000"))
    order_for(cars[0])  # reserved: still in stock, repriced with the others
    snapshots = CarInventory.objects.count()

    updated = Car.objects.filter(value__gte=1000).update(value=F("value") * Decimal("0.9"))

    assert updated == 4
    assert inventory_current().cars_value == Decimal("3600.00")
    assert CarInventory.objects.count() == snapshots + 1  # one change, one snapshot
    assert [len(sent.kwargs["changes"]) for sent in sent_signals.of("cars_repriced")] == [4]
    assert PriceChange.objects.filter(old_value=1000, new_value=900).count() == 4
    assert AuditEntry.objects.filter(action="car.price_changed").count() == 4
    assert_store_is_true()


@pytest.mark.parametrize("how", ["update", "bulk_update"])
def test_the_statements_of_a_bulk_price_change_do_not_grow_with_the_cars(how):
    def statements(count: int) -> int:
        cars = CarFactory.create_batch(count, value=Decimal("500"))
        ids = [car.pk for car in cars]
        with CaptureQueriesContext(connection) as queries:
            if how == "update":
                Car.objects.filter(pk__in=ids).update(value=Decimal("450"))
            else:
                for car in cars:
                    car.value = Decimal("450")
                Car.objects.bulk_update(cars, ["value"])
        assert set(Car.objects.filter(pk__in=ids).values_list("value", flat=True)) == {Decimal("450")}
        return len(queries)

    assert statements(3) == statements(30)
    assert_store_is_true()


def test_a_write_that_changes_no_price_sends_nothing_and_records_nothing():
    CarFactory.create_batch(2, value=Decimal("700"))
    received = []
    cars_repriced.connect(lambda **kwargs: received.append(kwargs), dispatch_uid="tests.repriced", weak=False)
    try:
        Car.objects.update(value=Decimal("700"))
    finally:
        cars_repriced.disconnect(dispatch_uid="tests.repriced")

    assert received == []
    assert PriceChange.objects.count() == 2  # the two first prices only


@pytest.mark.parametrize(
    "chosen",
    [
        lambda: Car.objects.filter(photos__isnull=True),  # an outer join
        lambda: Car.objects.filter(brand__name__startswith="").distinct(),
    ],
    ids=["outer join", "distinct"],
)
def test_any_query_of_cars_can_be_repriced(chosen):
    CarFactory.create_batch(2, value=Decimal("800"))

    assert chosen().update(value=Decimal("750")) == 2

    assert set(Car.objects.values_list("value", flat=True)) == {Decimal("750")}
    assert_store_is_true()


def test_cars_added_many_at_once_are_listed_and_logged_as_a_single_save_lists_and_logs_them(admin_user):
    """The history and audit rows the database makes for an import say what a single save writes."""
    from carsales.catalog.services import car_create, cars_add_many
    from carsales.conftest import BrandFactory
    from carsales.core.actor import acting_as

    brand = BrandFactory(name="Škoda")
    facts = {"brand": brand, "model": "Octavia", "factory_year": 2020, "model_year": 2021}
    with acting_as(admin_user):
        single = car_create(**facts, plate="ONE1", value=Decimal("12345.50"), bio="Text.")
        many = cars_add_many(
            cars=[Car(**facts, plate="MANY1", value=Decimal("12345.50")), Car(**facts, plate="MANY2", value=None)],
            actor=admin_user,
        )

    def logged(car):
        entry = AuditEntry.objects.get(action="car.created", object_id=str(car.pk))
        detail = {**entry.detail, "stock_code": None}
        return entry.actor_id, entry.actor_name, entry.object_type, detail

    def listed(car):
        return list(PriceChange.objects.filter(car=car).values_list("old_value", "new_value", "changed_by_name"))

    assert logged(many[0]) == logged(single)
    assert (
        AuditEntry.objects.get(object_id=str(many[0].pk), action="car.created").detail["stock_code"]
        == many[0].stock_code
    )
    assert AuditEntry.objects.get(object_id=str(many[1].pk), action="car.created").detail["value"] is None
    assert listed(many[0]) == listed(single) == [(None, Decimal("12345.50"), admin_user.get_username())]
    assert listed(many[1]) == []
