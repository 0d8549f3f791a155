from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from carsales.catalog.filters import CarFilterSet
from carsales.catalog.models import Brand, Car, next_year
from carsales.catalog.services import cars_withdraw
from carsales.conftest import BrandFactory, CarFactory, UserFactory, image_upload, reserved_car, sold_car, token_client
from carsales.core.groups import MANAGER, SALESPERSON

pytestmark = pytest.mark.django_db
LATEST = next_year()  # the latest model year a car may have


def test_anyone_can_list_cars_with_filters(client):
    CarFactory(brand=BrandFactory(name="Honda"), model="Civic", value=20000)
    CarFactory(model="Other", value=90000)

    response = client.get("/api/cars/", {"q": "honda", "price_max": 50000})

    assert response.status_code == 200
    assert [c["model"] for c in response.json()["results"]] == ["Civic"]


def test_the_api_search_finds_a_brand_and_model_given_together(client):
    honda = BrandFactory(name="Honda")
    CarFactory(brand=honda, model="Civic")
    CarFactory(brand=honda, model="Accord")

    response = client.get("/api/cars/", {"q": "Honda Civic"})

    assert [c["model"] for c in response.json()["results"]] == ["Civic"]


def test_a_bad_filter_value_is_a_400_with_the_field(client):
    response = client.get("/api/cars/", {"price_min": "cheap"})

    assert response.status_code == 400 and "price_min" in response.json()


@pytest.mark.parametrize(
    "filters, field, message",
    [
        ({"price_min": "-1"}, "price_min", "A price cannot be negative."),
        ({"price_min": "5000", "price_max": "1000"}, "price_max", "The max price cannot be below the min price."),
        ({"year_min": "2020", "year_max": "2010"}, "year_max", "The to year cannot be before the from year."),
        ({"year_min": "3000"}, "year_min", f"No car is newer than {LATEST}: choose {LATEST} or earlier."),
    ],
)
def test_a_filter_that_cannot_match_is_a_400_with_the_message(client, filters, field, message):
    response = client.get("/api/cars/", filters)

    assert response.status_code == 400 and response.json() == {field: [message]}


def test_a_buyer_cannot_create_a_car(buyer_client):
    response = buyer_client.post("/api/cars/", {"brand": BrandFactory().slug, "model": "X"})

    assert response.status_code == 403


def test_staff_create_a_car_with_a_photo_and_the_worker_thumbnails_it(staff_client, run_tasks):
    brand = BrandFactory(name="Kia")

    response = staff_client.post(
        "/api/cars/",
        {
            "brand": brand.slug,
            "model": "Rio",
            "factory_year": 2020,
            "model_year": 2020,
            "plate": "kia0001",
            "value": "15000",
            "photo": image_upload(1000, 700),
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["plate"] == "KIA0001" and len(body["stock_code"]) == 10 and body["thumbnail"] is None
    run_tasks()
    assert staff_client.get(f"/api/cars/{body['id']}/").json()["thumbnail"]


def test_a_file_that_is_not_an_image_is_a_400(staff_client):
    response = staff_client.post(
        "/api/cars/",
        {
            "brand": BrandFactory().slug,
            "model": "Rio",
            "factory_year": 2020,
            "model_year": 2020,
            "plate": "K1",
            "photo": SimpleUploadedFile("x.jpg", b"nope", content_type="image/jpeg"),
        },
    )

    assert response.status_code == 400 and "photo" in response.json()
    assert not Car.objects.exists()


def test_a_model_year_before_the_factory_year_is_a_400(staff_client):
    response = staff_client.post(
        "/api/cars/",
        {"brand": BrandFactory().slug, "model": "Rio", "factory_year": 2022, "model_year": 2020, "plate": "K1"},
    )

    assert response.status_code == 400
    assert response.json()["model_year"] == ["The model year cannot be before the factory year."]


def test_deleting_a_brand_with_cars_is_a_409_with_a_message(staff_client):
    car = CarFactory(brand=BrandFactory(name="Seat"))

    response = staff_client.delete(f"/api/brands/{car.brand.pk}/")

    assert response.status_code == 409 and "Seat still has 1 car" in response.json()["detail"]
    assert Brand.objects.filter(pk=car.brand.pk).exists()


def test_the_openapi_schema_is_valid_and_complete():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_openapi_schema_and_docs_are_served(client):
    shown = client.get("/api/schema/", HTTP_ACCEPT="text/html,*/*")  # a browser: shown, not downloaded
    assert shown.status_code == 200 and shown["Content-Type"].startswith("application/json")
    assert shown.json()["openapi"].startswith("3.")
    asked = client.get("/api/schema/", {"format": "yaml"})
    assert asked["Content-Type"].startswith("application/vnd.oai.openapi") and asked.content.startswith(b"openapi:")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


@pytest.mark.parametrize(
    "name, status, answer",
    [
        ("honda", 400, {"name": ["A brand named Honda already exists."]}),
        ("Mercedes Benz", 201, {"name": "Mercedes Benz", "slug": "mercedes-benz-2"}),
        ("日産", 201, {"name": "日産", "slug": "日産"}),
        ("!!!", 400, {"name": ["Give the brand a name with at least one letter or digit."]}),
    ],
)
def test_adding_a_brand_by_api_answers_a_clear_message_or_a_unique_slug(
    staff_client, honda_and_mercedes, name, status, answer
):
    response = staff_client.post("/api/brands/", {"name": name}, content_type="application/json")

    assert response.status_code == status
    assert answer.items() <= response.json().items()


def test_staff_renaming_a_brand_by_api_gives_it_a_new_unique_slug_and_keeps_the_old(staff_client, honda_and_mercedes):
    honda, _ = honda_and_mercedes

    response = staff_client.patch(
        f"/api/brands/{honda.pk}/", {"name": "Mercedes Benz"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json() == {"id": honda.pk, "name": "Mercedes Benz", "slug": "mercedes-benz-2"}
    assert list(honda.old_slugs.values_list("slug", flat=True)) == ["honda"]


def test_a_renamed_brands_old_slug_is_never_given_to_a_new_brand(staff_client, honda_and_mercedes):
    honda, _ = honda_and_mercedes
    staff_client.put(f"/api/brands/{honda.pk}/", {"name": "Honda Motor"}, content_type="application/json")

    response = staff_client.post("/api/brands/", {"name": "Honda"}, content_type="application/json")

    assert response.json()["slug"] == "honda-2"


def test_a_brand_renamed_back_takes_back_its_old_slug(staff_client, honda_and_mercedes):
    honda, _ = honda_and_mercedes
    staff_client.patch(f"/api/brands/{honda.pk}/", {"name": "Honda Motor"}, content_type="application/json")

    response = staff_client.patch(f"/api/brands/{honda.pk}/", {"name": "Honda"}, content_type="application/json")

    assert response.json()["slug"] == "honda"
    assert list(honda.old_slugs.values_list("slug", flat=True)) == ["honda-motor"]


def test_renaming_a_brand_to_another_brands_name_is_a_400(staff_client, honda_and_mercedes):
    honda, _ = honda_and_mercedes

    response = staff_client.patch(
        f"/api/brands/{honda.pk}/", {"name": "mercedes-benz"}, content_type="application/json"
    )

    assert response.status_code == 400 and "name" in response.json()


def test_the_api_filter_still_understands_a_renamed_brands_old_slug(client):
    from carsales.catalog.services import brand_rename

    honda = BrandFactory(name="Honda", slug="honda")
    CarFactory(brand=honda, model="Civic")
    CarFactory(model="Other")
    brand_rename(brand=honda, name="Honda Motor")

    response = client.get("/api/cars/", {"brand": "honda"})

    assert response.status_code == 200
    assert [car["model"] for car in response.json()["results"]] == ["Civic"]


def _reader(kind: str) -> Any:
    if kind == "visitor":
        return None
    if kind == "buyer":
        return UserFactory()
    user = UserFactory(is_staff=True, is_superuser=kind == "superuser")
    if kind in GROUPS:
        user.groups.add(Group.objects.get(name=GROUPS[kind]))
    return user


GROUPS = {"salesperson": SALESPERSON, "manager": MANAGER}


@pytest.mark.parametrize("reader", ["visitor", "buyer", "salesperson", "manager", "superuser"])
@pytest.mark.parametrize("query", ["", "page=2&page_size=2", "format=json", "not_a_filter=1"])
def test_a_list_naming_no_filter_skips_the_filterset_only_where_it_would_change_nothing(monkeypatch, reader, query):
    for plate in ("ON1", "ON2", "ON3"):
        CarFactory(plate=plate)
    cars_withdraw(car_ids=[CarFactory(plate="WD1").pk])
    reserved_car(plate="RS1")
    sold_car(plate="SD1")
    user = _reader(reader)
    api = token_client(user) if user else APIClient()
    built: list[CarFilterSet] = []
    building = CarFilterSet.__init__

    def counted(self: CarFilterSet, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        building(self, *args, **kwargs)

    monkeypatch.setattr(CarFilterSet, "__init__", counted)

    listed = api.get(f"/api/cars/?{query}")
    skipped = not built
    # The same list through the filterset: a filter asking for the order the list has anyway.
    through_filterset = api.get(f"/api/cars/?{query}&ordering=newest")

    assert listed.status_code == through_filterset.status_code == 200
    assert listed.json()["count"] == through_filterset.json()["count"] >= 3
    assert [car["id"] for car in listed.json()["results"]] == [car["id"] for car in through_filterset.json()["results"]]
    assert skipped is (reader != "salesperson")  # a salesperson's list widens to the cars their papers find
