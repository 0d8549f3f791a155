"""What the database enforces is checked by the database alone: a car's save sends no query to ask
whether its brand exists or its plate or VIN is taken. When the database refuses, the caller gets
the same per-field errors Django's checks give, and its own transaction stays usable."""

from contextlib import nullcontext
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.forms.models import BaseModelForm
from django.test.utils import CaptureQueriesContext
from rest_framework.validators import UniqueValidator

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

    assert field_errors(plate_taken) == {"plate": ["Another car, on sale or sold, has this plate."]}
    assert field_errors(vin_taken) == {"vin": ["Another car in stock has this VIN."]}
    assert Car.objects.count() == 1


def test_an_edit_to_a_taken_plate_is_a_plate_error_and_leaves_the_row_as_stored():
    first, second = CarFactory(plate="AB1"), CarFactory(plate="CD2", value=Decimal(500))

    with pytest.raises(ValidationError) as refused:
        car_update(car=second, plate="ab1", value=Decimal(900))

    assert field_errors(refused) == {"plate": ["Another car, on sale or sold, has this plate."]}
    stored = Car.objects.get(pk=second.pk)
    assert (stored.plate, stored.value) == ("CD2", Decimal(500))
    assert Car.objects.get(pk=first.pk).plate == "AB1"


@pytest.mark.parametrize("in_callers_transaction", [False, True], ids=["alone", "in a caller's transaction"])
def test_a_brand_deleted_meanwhile_is_a_brand_error(in_callers_transaction):
    gone = BrandFactory()
    Brand.objects.filter(pk=gone.pk).delete()  # another request, after this one fetched it
    car = Car(brand=gone, model="Golf", factory_year=2020, model_year=2021, plate="AB1", value=1000)

    with transaction.atomic() if in_callers_transaction else nullcontext(), pytest.raises(ValidationError) as refused:
        car_insert(car)

    assert list(field_errors(refused)) == ["brand"]
    assert (car.pk, car._state.adding) == (None, True)  # as it was: nothing was saved
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


CAR = {"model": "Corolla", "factory_year": 2020, "model_year": 2021, "plate": "race1", "value": "25000", "bio": ""}


def _page(client, brand):
    response = client.post("/cars/new/", {**CAR, "brand": brand.pk})
    return response.status_code, response.context["form"].errors.get("plate")


def _api(client, brand):
    response = client.post("/api/cars/", {**CAR, "brand": brand.slug})
    return response.status_code, response.json().get("plate")


def _admin(client, brand):
    inline = {"photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0"}  # the gallery, left empty
    response = client.post("/admin/catalog/car/add/", {**CAR, **inline, "brand": brand.pk})
    return response.status_code, response.context["adminform"].form.errors.get("plate")


@pytest.mark.parametrize(
    ("path", "check", "answered"),
    [
        pytest.param(_page, (BaseModelForm, "validate_unique"), 200, id="page"),
        pytest.param(_api, (UniqueValidator, "__call__"), 400, id="api"),
        pytest.param(_admin, (BaseModelForm, "validate_unique"), 200, id="admin"),
    ],
)
def test_a_plate_taken_after_the_form_found_it_free_is_the_forms_plate_error_on_every_path(
    staff_client, monkeypatch, path, check, answered
):
    """Another request adds a car with the same plate after this one's form (or serializer) found
    it free: the database refuses the write, and the visitor gets the form's answer, not a 500."""
    brand = BrandFactory()
    CarFactory(plate="RACE1")
    owner, name = check
    real, calls = getattr(owner, name), []

    def free_at_first(*args, **kwargs):  # the check ran before the other request committed
        calls.append(1)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(owner, name, free_at_first)

    status, plate_errors = path(staff_client, brand)

    assert (status, plate_errors) == (answered, ["Another car, on sale or sold, has this plate."])
    assert Car.objects.filter(plate="RACE1").count() == 1


def test_the_admin_checks_a_plate_as_it_is_stored(staff_client):
    CarFactory(plate="AB1")

    response = staff_client.post(
        "/admin/catalog/car/add/",
        {**CAR, "plate": " ab1 ", "brand": BrandFactory().pk, "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0"},
    )

    assert response.context["adminform"].form.errors["plate"] == ["Another car, on sale or sold, has this plate."]
