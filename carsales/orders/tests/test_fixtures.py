"""Fixtures (manage.py loaddata) keep the stock and the inventory right."""

import json

import pytest
from django.core.management import CommandError, call_command

from carsales.catalog.models import Car
from carsales.conftest import BrandFactory, CarFactory, order_for
from carsales.core.tests.invariants import assert_store_is_true

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
