"""What the bookkeeping costs in statements: it rides on the write it observes.

Each action runs as a request would run it (its service opens the transaction), and every
statement it sends is counted: the receivers' own (inventory, price history, audit, analytics,
durable deliveries) included. A receiver that adds a query, or a savepoint, fails this test.
"""

from decimal import Decimal

import pytest
from django.db import connection

from carsales.catalog.models import Brand
from carsales.catalog.services import car_create, car_update
from carsales.conftest import CarFactory, a_cart_of_three_cars
from carsales.core.testing import statements_of
from carsales.orders.services import order_place

pytestmark = pytest.mark.django_db(transaction=True)


def derived_data_of_a_save(statements: int) -> int:
    # PostgreSQL sends what a save's receivers write (counters, history, audit) in one WITH
    # (core.db.one_round_trip); SQLite cannot put an INSERT or UPDATE in a WITH clause: one each.
    # The inventory's totals are one statement either way: their trigger writes the snapshot.
    return 1 if connection.vendor == "postgresql" else statements


def a_record_and_its_figures() -> int:
    # PostgreSQL writes a record and the figures it moves in one statement (WITH ... INSERT ...
    # RETURNING gating the UPDATE): the analytics event and the day's figures. SQLite cannot put
    # an INSERT or UPDATE in a WITH clause: two.
    return 1 if connection.vendor == "postgresql" else 2


def test_a_car_created_costs_its_insert_and_one_row_per_record_without_savepoints():
    brand = Brand.objects.create(name="Budget", slug="budget")
    car_create(brand=brand, model="Warm", factory_year=2020, model_year=2020, plate="W1", value=1, bio="Text.")

    data, savepoints = statements_of(
        lambda: car_create(
            brand=brand, model="Golf", factory_year=2020, model_year=2021, plate="AB1", value=1000, bio="Text."
        )
    )

    # The car, then its first price, the catalogue's version (cached pages), the totals (their
    # snapshot written by their trigger), the audit entry: no stock-code lookup, no query per check
    # constraint, no brand or plate check (the database's constraints refuse those;
    # catalog.services says why, per field).
    assert len(data) == 1 + derived_data_of_a_save(4), data
    assert savepoints == []


def test_a_car_edited_costs_one_locked_reading_and_one_row_per_record_without_savepoints():
    car = CarFactory(bio="Text.")

    data, savepoints = statements_of(lambda: car_update(car=car, value=Decimal("12345")))

    # The row as stored, locked (the edit's lock, read once for every receiver), the update, then
    # the price change, the catalogue's version, the totals (and their snapshot), the audit entry.
    assert len(data) == 2 + derived_data_of_a_save(4), data
    assert "FOR UPDATE" in data[0] or connection.vendor == "sqlite", data[0]
    assert savepoints == []


def test_a_checkout_of_three_cars_has_a_savepoint_only_for_the_observers_that_may_fail_alone():
    user, cart = a_cart_of_three_cars()

    data, savepoints = statements_of(lambda: order_place(cart=cart, buyer=user.buyer, actor=user))

    # The cart's row locked (PostgreSQL: SQLite's transaction holds the write lock already), its
    # items read, the cars locked and read, the cars moved, the
    # order and its lines (the database checks each line's car is held: orders migration 0007),
    # the cart emptied, the two durable deliveries in one INSERT (the email, its summary from the
    # lines the checkout wrote, and the deadline; the rows are the workers' jobs; on PostgreSQL
    # the INSERT also wakes them, NOTIFY), the analytics event and figures, the audit entry; and
    # what the cars' move derives (the catalogue's version, the totals and their snapshot), in one
    # round trip on PostgreSQL: 11 there, 12 on SQLite.
    locked_first = 1 if connection.features.has_select_for_update else 0
    assert len(data) == locked_first + 8 + a_record_and_its_figures() + derived_data_of_a_save(2), data
    assert sum('INSERT INTO "EVENTS_DELIVERY"' in statement.upper() for statement in data) == 1, data
    # Only the order_placed observer that writes and may fail alone (analytics) has a savepoint:
    # the reservation refuses before writing; the durable records and the audit entry commit
    # with the checkout or fail it.
    assert len(savepoints) == 2, savepoints
