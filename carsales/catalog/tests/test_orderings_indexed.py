"""Every ordering the catalogue offers reads an index in order: a page of the cheapest, dearest,
newest or least driven cars costs the same at 200 cars as at 200,000 (no sort of every car).

The planner reads statistics of a stock like a dealer's (most cars available, a few priced on
request or of unknown mileage) and is told sorting is dear, so it takes an index wherever one
serves; a plan that still sorts every row has no index to take.
"""

import re

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet

from carsales.catalog.filters import CAR_ORDERINGS
from carsales.catalog.models import Car
from carsales.catalog.selectors import car_catalogue
from carsales.conftest import BrandFactory

pytestmark = pytest.mark.django_db
STOCK = 2_000


@pytest.fixture(autouse=True)
def stock() -> None:
    brand = BrandFactory()
    cars = [
        Car(brand=brand, model="Civic", factory_year=2000 + n % 25, model_year=2000 + n % 25, plate=f"P{n}",
            stock_code=f"S{n:08d}", value=None if n % 50 == 0 else 1000 + n % 700,
            mileage=None if n % 30 == 0 else n * 37 % 90_000, status="sold" if n % 4 == 0 else "available")
        for n in range(STOCK)
    ]  # fmt: skip
    QuerySet.bulk_create(Car.objects.all(), cars)  # a fill, past the guarded bulk path: no inventory here
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


WHOLE_SORT = {
    "sqlite": re.compile(r"USE TEMP B-TREE FOR ORDER BY"),
    # Incremental Sort orders the ties of an index already in order: a few rows, not the table.
    "postgresql": re.compile(r"^\s*(->\s+)?Sort\s+\(", re.MULTILINE),
}


@pytest.mark.parametrize("staff", [False, True], ids=["buyer", "staff"])
@pytest.mark.parametrize("ordering", list(CAR_ORDERINGS))
def test_each_catalogue_ordering_reads_an_index_in_order(ordering, staff):
    page = car_catalogue(include_unavailable=staff).order_by(*CAR_ORDERINGS[ordering])[:24]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_sort = off")
                cursor.execute("SET LOCAL enable_seqscan = off")
        plan = page.explain()

    assert not WHOLE_SORT[connection.vendor].search(plan), plan


def test_the_check_sees_an_ordering_no_index_serves():
    unindexed = car_catalogue(include_unavailable=True).order_by("engine_cc", "id")[:24]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_sort = off")
        plan = unindexed.explain()

    assert WHOLE_SORT[connection.vendor].search(plan), plan
