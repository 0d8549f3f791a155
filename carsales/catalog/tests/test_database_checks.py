"""What the database enforces is checked by the database alone: a car's save sends no query to ask
whether its brand exists or its plate or VIN is taken. When the database refuses, the caller gets
the same per-field errors Django's checks give, and its own transaction stays usable."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from carsales.catalog.models import Brand, Car
from carsales.catalog.services import car_create, car_insert, car_update
from carsales.conftest import BrandFactory, CarFactory

pytestmark = pytest.mark.django_db(transaction=True)

VIN = "WVWZZZ1KZAW000001"


def golf(brand: Brand, **values):
    return car_create(
        **{"brand": brand, "model": "Golf", "factory_year": 2020, "model_year": 2021, "plate": "AB1", "value": 1000}
        | values
    )


def field_errors(refused: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return refused.value.message_dict


def test_a_save_asks_nothing_the_database_answers():
    brand = BrandFactory()
    with CaptureQueriesContext(connection) as queries:
        golf(brand, vin=VIN)
    asked = [query["sql"] for query in queries.captured_queries if query["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in asked if "catalog_brand" in sql or '"plate"' in sql or '"vin"' in sql], asked


def test_a_taken_plate_or_vin_is_an_error_on_its_field_and_nothing_is_saved():
    brand = BrandFactory()
    golf(brand, plate="AB1", vin=VIN)

    with pytest.raises(ValidationError) as plate_taken:
        golf(brand, plate=" ab1 ")
    with pytest.raises(ValidationError) as vin_taken:
        golf(brand, plate="CD2", vin=VIN)

    assert field_errors(plate_taken) == {"plate": ["Car with this Plate already exists."]}
    assert field_errors(vin_taken) == {"vin": ["Another car in stock has this VIN."]}
    assert Car.objects.count() == 1


def test_an_edit_to_a_taken_plate_is_a_plate_error_and_leaves_the_row_as_stored():
    first, second = CarFactory(plate="AB1"), CarFactory(plate="CD2", value=Decimal(500))

    with pytest.raises(ValidationError) as refused:
        car_update(car=second, plate="ab1", value=Decimal(900))

    assert field_errors(refused) == {"plate": ["Car with this Plate already exists."]}
    stored = Car.objects.get(pk=second.pk)
    assert (stored.plate, stored.value) == ("CD2", Decimal(500))
    assert Car.objects.get(pk=first.pk).plate == "AB1"


def test_a_brand_deleted_meanwhile_is_a_brand_error():
    gone = BrandFactory()
    Brand.objects.filter(pk=gone.pk).delete()  # another request, after this one fetched it

    with pytest.raises(ValidationError) as refused:
        golf(gone)

    assert list(field_errors(refused)) == ["brand"]
    assert not Car.objects.exists()


def test_a_refusal_inside_a_callers_transaction_leaves_that_transaction_usable():
    brand = BrandFactory()
    golf(brand, plate="AB1")

    with transaction.atomic():
        with pytest.raises(ValidationError):
            golf(brand, plate="AB1")
        golf(brand, plate="CD2")  # the caller goes on, in the same transaction

    assert sorted(Car.objects.values_list("plate", flat=True)) == ["AB1", "CD2"]


def test_a_refusal_no_check_explains_is_raised_as_the_databases():
    # A stock code is generated, never typed: its unique column is its only check, so a clash
    # is a bug to see, never a form error.
    taken = CarFactory()
    clash = Car(brand=taken.brand, model="Golf", factory_year=2020, model_year=2020, plate="NEW1",
                stock_code=taken.stock_code, bio="Text.")  # fmt: skip

    with pytest.raises(IntegrityError):
        car_insert(clash)

    assert Car.objects.count() == 1
