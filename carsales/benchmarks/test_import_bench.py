"""import_cars beside the floor: a raw bulk_create of the same rows (no checks, no bookkeeping).

Run with `make bench`; prints the ratio measured in one run.
"""

import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet

from carsales.catalog.imports import cars_import
from carsales.catalog.models import Brand, Car
from carsales.inventory.selectors import inventory_current

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]
ROWS = 100_000


def rows(prefix: str) -> list[tuple[int, dict[str, str]]]:
    return [
        (n + 2, {"brand": "Bench", "model": f"Model {n % 50}", "factory_year": "2020", "model_year": "2021",
                 "plate": f"{prefix}{n}", "value": str(1000 + n % 900), "mileage": str(n * 3), "fuel": "diesel",
                 "transmission": "manual", "body": "estate", "colour": "Grey", "doors": "5", "seats": "5"})
        for n in range(ROWS)
    ]  # fmt: skip


def test_an_import_costs_a_small_multiple_of_a_raw_bulk_create(figures):
    brand = Brand.objects.create(name="Bench", slug="bench", folded_name="bench")
    raw_rows = rows("R")
    started = time.perf_counter()
    with transaction.atomic():
        cars = [
            Car(brand=brand, model=row["model"], factory_year=2020, model_year=2021, plate=row["plate"],
                value=Decimal(row["value"]), mileage=int(row["mileage"]), fuel="diesel", transmission="manual",
                body="estate", colour="Grey", doors=5, seats=5, stock_code=f"R{n:09d}")
            for n, (_, row) in enumerate(raw_rows)
        ]  # fmt: skip
        QuerySet.bulk_create(Car.objects.all(), cars, batch_size=1000)  # the floor: past every check
    raw = time.perf_counter() - started

    before = inventory_current()
    counted = before.cars_count if before else 0
    started = time.perf_counter()
    report = cars_import(rows("I"))
    imported = time.perf_counter() - started

    assert report.added == ROWS and not report.problems
    after = inventory_current()
    assert after is not None and after.cars_count == counted + ROWS
    figures(f"import_cars ÷ raw bulk_create, {ROWS:,} cars", f"x{imported / raw:.2f}", goal="≤ x2",
            met=imported / raw <= 2)  # fmt: skip
    print(
        f"\n[{connection.vendor}] {ROWS:,} cars: raw bulk_create {raw:.2f} s, import_cars {imported:.2f} s "
        f"(checked, stock codes, price history, audit, inventory, deliveries): x{imported / raw:.2f} of the floor"
    )
