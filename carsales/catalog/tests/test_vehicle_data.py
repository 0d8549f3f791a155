"""Vehicle data: what buyers compare on, the VIN checked, filters on the page and the API, masking."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carsales.catalog.models import Body, Car, Fuel, Transmission
from carsales.catalog.services import car_create
from carsales.catalog.vin import validate_vin, vin_masked
from carsales.conftest import BrandFactory, CarFactory, UserFactory, token_client

pytestmark = pytest.mark.django_db

HONDA_VIN = "1HGCM82633A004352"  # a real North American VIN: its check digit (3) holds
GOLF_VIN = "WVWZZZ1KZAW123456"  # European: the 9th character is the maker's, not a check digit


def car_form(brand: Any, **changes: Any) -> dict[str, Any]:
    form = {
        "brand": brand.pk,
        "model": "Accord",
        "factory_year": 2003,
        "model_year": 2003,
        "plate": "abc 123",
        "value": "9000",
        "mileage": "120000",
        "fuel": "petrol",
        "transmission": "automatic",
        "body": "sedan",
        "colour": "Silver",
        "doors": "4",
        "seats": "5",
        "engine_cc": "2354",
        "power_kw": "118",
        "vin": "1hgcm8 2633a004352",
        "bio": "x",
    }
    return {**form, **changes}


@pytest.mark.parametrize(
    ("vin", "reason"),
    [
        ("1HGCM82633A00435", "has 17 characters; this one has 16"),
        ("1HGCM82633A0O4352", "never contains the letters I, O or Q"),
        ("1HGCM82643A004352", "check digit (9th character, 4) does not match"),
        ("1HGCM82633A00435-", "only letters and digits"),
    ],
)
def test_a_wrong_vin_is_refused_with_the_reason_on_the_form_and_by_the_api(admin_user: Any, vin: str, reason: str):
    brand = BrandFactory(name="Honda")
    client = Client()
    client.force_login(admin_user)

    page = client.post("/cars/new/", car_form(brand, vin=vin))
    api = token_client(admin_user).post("/api/cars/", {**car_form(brand, vin=vin), "brand": brand.slug})

    assert page.status_code == 200 and reason in " ".join(page.context["form"].errors["vin"])
    assert api.status_code == 400 and reason in " ".join(api.json()["vin"])
    assert not Car.objects.exists()


def test_a_european_vin_needs_no_check_digit_and_every_vin_is_stored_in_capitals_without_spaces(admin_user: Any):
    validate_vin(GOLF_VIN)
    client = Client()
    client.force_login(admin_user)

    response = client.post("/cars/new/", car_form(BrandFactory(name="Honda")))

    car = Car.objects.get()
    assert response.status_code == 302
    assert (car.vin, car.plate, car.mileage, car.fuel, car.engine_cc) == (HONDA_VIN, "ABC 123", 120_000, "petrol", 2354)


def test_two_cars_cannot_share_a_vin_but_any_number_may_have_none(admin_user: Any):
    brand = BrandFactory()
    CarFactory(brand=brand, vin=HONDA_VIN)
    CarFactory(brand=brand, vin="")
    CarFactory(brand=brand, vin="")

    api = token_client(admin_user).post("/api/cars/", {**car_form(brand, vin=HONDA_VIN), "brand": brand.slug})

    assert api.status_code == 400 and "Another car in stock has this VIN" in str(api.json())
    with pytest.raises(IntegrityError), transaction.atomic():
        CarFactory(brand=brand, vin=HONDA_VIN)


@pytest.mark.parametrize(
    "fields",
    [{"vin": "TOO-SHORT"}, {"vin": "1HGCM82633A0O4352"}, {"fuel": "steam"}, {"body": "tank"}, {"transmission": "cvt"}],
)
def test_the_database_refuses_facts_no_form_would_take_on_the_paths_that_skip_validation(fields: dict[str, str]):
    with pytest.raises(IntegrityError), transaction.atomic():
        CarFactory(**fields)


def test_choices_cover_what_buyers_compare():
    assert set(Fuel.values) == {"petrol", "diesel", "hybrid", "plugin_hybrid", "electric", "lpg"}
    assert set(Transmission.values) == {"manual", "automatic"}
    assert set(Body.values) == {"sedan", "hatchback", "estate", "suv", "coupe", "convertible", "van", "pickup"}


@pytest.fixture
def stock() -> dict[str, Car]:
    return {
        "diesel_suv": CarFactory(fuel="diesel", transmission="automatic", body="suv", mileage=40_000, value=30_000),
        "old_diesel_suv": CarFactory(fuel="diesel", transmission="automatic", body="suv", mileage=90_000, value=20_000),
        "manual_diesel": CarFactory(fuel="diesel", transmission="manual", body="suv", mileage=10_000, value=25_000),
        "electric": CarFactory(fuel="electric", transmission="automatic", body="hatchback", mileage=5_000),
        "unstated": CarFactory(),
    }


QUERY = "?fuel=diesel&transmission=automatic&body=suv&mileage_max=50000"


def test_the_page_and_the_api_filter_on_the_facts_alike(stock: dict[str, Car]):
    page = Client().get("/" + QUERY)
    api = Client().get("/api/cars/" + QUERY)

    assert [car.pk for car in page.context["page"]] == [stock["diesel_suv"].pk]
    assert [car["id"] for car in api.json()["results"]] == [stock["diesel_suv"].pk]


def test_ordering_by_mileage_puts_cars_of_unstated_mileage_last(stock: dict[str, Car]):
    order = [car["id"] for car in Client().get("/api/cars/?ordering=mileage").json()["results"]]

    names = {car.pk: name for name, car in stock.items()}
    assert [names[pk] for pk in order] == ["electric", "manual_diesel", "diesel_suv", "old_diesel_suv", "unstated"]


@pytest.mark.parametrize("ordering", ["price", "-price"])
def test_ordering_by_price_either_way_puts_cars_priced_on_request_last(ordering: str):
    cheap, dear, on_request = (CarFactory(value=value) for value in (Decimal("1000"), Decimal("9000"), None))

    order = [car["id"] for car in Client().get(f"/api/cars/?ordering={ordering}").json()["results"]]

    assert order == ([cheap.pk, dear.pk] if ordering == "price" else [dear.pk, cheap.pk]) + [on_request.pk]


def test_a_bad_filter_value_is_a_400_from_the_api_and_a_form_error_on_the_page_that_keeps_the_other_filters(
    stock: dict[str, Car],
):
    api = Client().get("/api/cars/?fuel=steam&mileage_max=-1")
    page = Client().get("/?fuel=steam&body=hatchback")

    assert api.status_code == 400 and set(api.json()) == {"fuel", "mileage_max"}
    assert "fuel" in page.context["form"].errors
    assert [car.pk for car in page.context["page"]] == [stock["electric"].pk]
    assert "Fuel: Select a valid choice" in page.content.decode()


def test_filtering_costs_the_same_queries_whatever_the_number_of_cars():
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            Client().get("/" + QUERY + "&ordering=mileage")
            Client().get("/api/cars/" + QUERY + "&ordering=mileage")
        return len(context)

    CarFactory.create_batch(2, fuel="diesel", transmission="automatic", body="suv", mileage=1)
    few = queries()
    CarFactory.create_batch(20, fuel="diesel", transmission="automatic", body="suv", mileage=1)
    assert queries() == few


def test_visitors_see_the_plate_and_vin_masked_and_staff_see_them_whole(admin_user: Any):
    car = CarFactory(plate="XYZ9876", vin=HONDA_VIN, mileage=12_345, fuel="hybrid", transmission="automatic")
    staff = Client()
    staff.force_login(admin_user)

    visitor_page = Client().get(f"/cars/{car.pk}/").content.decode()
    buyer_api = token_client(UserFactory()).get(f"/api/cars/{car.pk}/").json()
    staff_page = staff.get(f"/cars/{car.pk}/").content.decode()
    staff_api = token_client(admin_user).get(f"/api/cars/{car.pk}/").json()

    assert HONDA_VIN not in visitor_page and "XYZ9876" not in visitor_page
    assert vin_masked(HONDA_VIN) == "1HGCM82633A••••••" and vin_masked(HONDA_VIN) in visitor_page
    assert (buyer_api["plate"], buyer_api["vin"]) == ("XY•••••", "1HGCM82633A••••••")
    assert HONDA_VIN in staff_page and "XYZ9876" in staff_page
    assert (staff_api["plate"], staff_api["vin"]) == ("XYZ9876", HONDA_VIN)
    assert "12,345 km" in visitor_page and "Hybrid" in visitor_page


def test_cards_show_year_mileage_fuel_and_gearbox_and_leave_out_what_is_not_stated(settings: Any):
    settings.CARSALES_MILEAGE_UNIT = "mi"
    CarFactory(model_year=2022, mileage=30_500, fuel="diesel", transmission="manual")
    CarFactory(factory_year=2019, model_year=2019)

    page = Client().get("/").content.decode()

    assert "2022 · 30,500 miles · Diesel · Manual" in page
    assert '<p class="facts">2019</p>' in page


def test_the_car_page_shows_the_specification_table_with_engine_and_power_in_buyers_units():
    car = CarFactory(engine_cc=1598, power_kw=110, body="estate", colour="Blue", doors=5, seats=5)

    page = Client().get(f"/cars/{car.pk}/").content.decode()

    for text in ["1.6 L (1,598 cm³)", "110 kW (148 hp)", "Estate", "Blue"]:
        assert text in page


def test_the_service_refuses_a_field_it_does_not_know():
    with pytest.raises(Exception, match="Unknown car fields: wheels"):
        car_create(brand=BrandFactory(), model="X", factory_year=2020, model_year=2020, plate="P1", wheels=4)


# One way to break each of Car's database constraints; a constraint added without one fails the test below.
CONSTRAINT_BREAKERS: dict[str, dict[str, Any]] = {
    "car_value_above_zero": {"value": 0},
    "car_model_year_not_before_factory_year": {"factory_year": 2015, "model_year": 2014},
    "car_factory_year_from_1900": {"factory_year": 1899, "model_year": 1899},
    "car_vin_unique_when_given": {"vin": HONDA_VIN},
    "car_vin_format": {"vin": "NOT A VIN"},
    "car_fuel_known": {"fuel": "coal"},
    "car_transmission_known": {"transmission": "cvt"},
    "car_body_known": {"body": "limousine"},
    "car_plate_unique": {"plate": "TAKEN1"},
    "car_plate_bare": {"plate": "TAKEN-1"},
    "car_plate_format": {"plate": "AB_1"},
    "car_stock_code_unique": {"stock_code": "TAKEN00001"},
    "car_stock_code_format": {"stock_code": "abc 1"},
}
# Generated, never typed (an import checks its codes itself): its constraints are its only check,
# full_clean() does not ask.
GENERATED = {"car_stock_code_unique", "car_stock_code_format"}


@pytest.mark.parametrize("constraint", sorted(CONSTRAINT_BREAKERS))
def test_what_the_database_refuses_full_clean_refuses_first_without_asking_it_again(constraint):
    """Car.validate_constraints asks the database about the plate's and the VIN's uniqueness
    only: every other constraint is checked in Python by a field validator or clean(), so a save
    pays no query per constraint. Each constraint broken: the database refuses the row, and
    full_clean refuses it first, on the field (but the generated stock code's)."""
    assert {constraint.name for constraint in Car._meta.constraints} == set(CONSTRAINT_BREAKERS)
    taken = CarFactory(vin=HONDA_VIN, plate="TAKEN1")
    QuerySet.update(Car.objects.filter(pk=taken.pk), stock_code="TAKEN00001")
    breaking = CONSTRAINT_BREAKERS[constraint]

    with pytest.raises(IntegrityError), transaction.atomic():
        QuerySet.update(Car.objects.filter(pk=CarFactory().pk), **breaking)  # past every Python check

    car = CarFactory.build(brand=BrandFactory(), **breaking)
    if constraint in GENERATED:
        car.full_clean()  # let through: the stock code a save generates is checked by its constraint only
        return
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError) as refusal:
        car.full_clean()
    assert set(breaking) & set(refusal.value.message_dict)
    asked = [query["sql"] for query in queries.captured_queries if '"_check"' in query["sql"]]
    assert len(asked) == (1 if constraint == "car_vin_unique_when_given" else 0)
