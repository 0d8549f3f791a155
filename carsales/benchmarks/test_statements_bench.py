"""What a car save and a checkout send to the database, counted, beside the issue's goals: the
figures `core/tests/test_statement_budget.py` holds exact, in `make bench`'s table.

Run with `make bench`.
"""

from decimal import Decimal

import pytest
from django.db import connection

from carsales.catalog.models import Brand
from carsales.catalog.services import car_create
from carsales.conftest import a_cart_of_three_cars
from carsales.core.testing import statements_of
from carsales.orders.services import order_place

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db(transaction=True)]


def test_statements_of_a_car_create_and_of_a_checkout_of_three_cars(figures):
    brand = Brand.objects.create(name="Bench", slug="bench")
    car_create(brand=brand, model="Warm", factory_year=2020, model_year=2020, plate="W1", value=Decimal(1), bio="Text.")
    created, savepoints = statements_of(
        lambda: car_create(
            brand=brand, model="Golf", factory_year=2020, model_year=2021, plate="B1", value=Decimal(1), bio="T."
        )
    )
    figures(
        "SQL per car create: data statements (savepoint statements)",
        f"{len(created)} ({len(savepoints)})",
        goal="2 (0)",
        met=len(created) <= 2 and not savepoints,
    )

    user, cart = a_cart_of_three_cars()
    data, savepoints = statements_of(lambda: order_place(cart=cart, buyer=user.buyer, actor=user))
    total = len(data) + len(savepoints)  # as the goal counts them: every statement, savepoints included
    figures(
        "checkout of 3 cars: statements (savepoint statements)",
        f"{total} ({len(savepoints)})",
        goal="≤ 14 (≤ 2)",
        met=total <= 14 and len(savepoints) <= 2,
    )
    print(
        f"\n[{connection.vendor}] car create: {len(created)} data statements; checkout of 3 cars: "
        f"{len(data)} data and {len(savepoints)} savepoint statements"
    )
