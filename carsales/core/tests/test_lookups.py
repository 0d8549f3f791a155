"""A long `__in` list travels to PostgreSQL as one array (core.lookups): the same rows as a short
one finds, on every database."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import CheckConstraint, Q
from django.test.utils import CaptureQueriesContext

from carsales.catalog.models import Brand, Car
from carsales.conftest import CarFactory
from carsales.core.lookups import LONG_LIST

pytestmark = pytest.mark.django_db
NOBODYS = range(10**9, 10**9 + LONG_LIST)  # ids no row holds, to make a list long


def test_a_long_list_of_ids_finds_the_rows_it_names_and_nothing_for_none_or_duplicates():
    first, second, _other = CarFactory.create_batch(3)

    assert set(Car.objects.filter(pk__in=[first.pk, None, second.pk, second.pk, *NOBODYS])) == {first, second}
    assert set(Car.objects.filter(brand_id__in=[first.brand_id, *NOBODYS])) == {first}
    assert set(Car.objects.filter(brand__in=[second.brand, *NOBODYS])) == {second}
    assert not Car.objects.filter(pk__in=[None] * (LONG_LIST + 1)).exists()
    assert set(Car.objects.exclude(pk__in=[first.pk, None, *NOBODYS])) == {second, _other}
    assert set(Brand.objects.filter(cars__in=[first.pk, *NOBODYS])) == {first.brand}  # a reverse relation


def test_a_number_no_integer_column_holds_matches_nothing_in_a_list_short_or_long():
    car = CarFactory()

    assert list(Car.objects.filter(pk__in=[car.pk, 2**64])) == [car]
    assert list(Car.objects.filter(brand_id__in=[car.brand_id, -(2**64), *NOBODYS])) == [car]
    assert not Car.objects.filter(pk__in=[2**64]).exists()
    assert list(Car.objects.exclude(pk__in=[2**64])) == [car]


@pytest.mark.parametrize("past", [2**64, -(2**64)])
def test_a_key_compared_with_a_number_no_key_column_holds_matches_nothing(past):
    car = CarFactory()

    assert not Car.objects.filter(brand=past).exists()
    assert not Car.objects.filter(brand_id=past).exists()
    assert list(Car.objects.exclude(brand=past)) == [car]
    assert list(Car.objects.filter(Q(brand=past) | Q(pk=car.pk))) == [car]


# Each admin list filtering by a key, given a number no key column holds (a 500 on SQLite before).
KEY_FILTERS = [
    "catalog/car/?brand=",
    "catalog/carphoto/?car=",
    "catalog/pricechange/?car=",
    "orders/order/?buyer=",
    "orders/orderitem/?order=",
    "sales/sale/?order=",
    "audit/auditentry/?actor=",
]


@pytest.mark.parametrize("address", KEY_FILTERS)
def test_an_admin_list_filtered_by_a_key_past_any_column_lists_nothing(address, staff_client):
    response = staff_client.get(f"/admin/{address}{2**70}")

    assert response.status_code in (200, 302)  # a list of none, or the admin's ?e=1 for a lookup refused


def test_a_long_list_of_text_compares_whole_values_even_past_the_column_length():
    stored = CarFactory(plate="ABCDEFGHJKLMNPQR")  # as long as the column (16)
    others = [f"NONE{n}" for n in range(LONG_LIST)]

    assert list(Car.objects.filter(plate__in=[stored.plate, *others])) == [stored]
    assert not Car.objects.filter(plate__in=[stored.plate + "XYZ", *others]).exists()
    assert list(Brand.objects.filter(name__in=[stored.brand.name, *others])) == [stored.brand]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array is PostgreSQL's")
def test_on_postgresql_a_long_list_is_one_array_and_a_short_one_stays_an_in_list():
    with CaptureQueriesContext(connection) as long_list:
        list(Car.objects.filter(pk__in=range(LONG_LIST + 1)))
    with CaptureQueriesContext(connection) as short_list:
        list(Car.objects.filter(pk__in=range(LONG_LIST)))

    assert "IN (SELECT unnest(" in long_list[0]["sql"] and "::bigint[]" in long_list[0]["sql"]
    assert "unnest" not in short_list[0]["sql"]
    # A number past the column's type matches nothing, as in an IN list (cast into the array, it would fail).
    car = CarFactory()
    assert list(Car.objects.filter(pk__in=[car.pk, 2**63, *NOBODYS])) == [car]
    # A reverse relation compares the other table's column (a buyer's bigint id, not the user's integer one).
    users = get_user_model().objects.filter(buyer__in=range(LONG_LIST + 1))
    assert "::bigint[]" in str(users.query)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array is PostgreSQL's")
def test_a_table_constraint_naming_a_long_list_keeps_it_an_in_list():
    """A CHECK or an index's condition takes no subquery (PostgreSQL refuses one there)."""
    constraint = CheckConstraint(condition=Q(colour__in=[f"c{n}" for n in range(LONG_LIST + 1)]), name="long")
    with connection.schema_editor(collect_sql=True) as editor:
        sql = str(constraint.constraint_sql(Car, editor))

    assert "unnest" not in sql and "c100" in sql
