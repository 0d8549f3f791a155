from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from carsales.catalog.models import Brand, Car, CarStatus
from carsales.conftest import BrandFactory, CarFactory, image_bytes, image_upload

pytestmark = pytest.mark.django_db


def car_form_data(brand: Brand, **overrides):
    data = {
        "brand": brand.pk,
        "model": "Corolla",
        "factory_year": 2020,
        "model_year": 2021,
        "plate": "ABC1234",
        "value": "25000",
        "status": CarStatus.AVAILABLE,
        "bio": "",
    }
    data.update(overrides)
    return data


def test_the_list_searches_model_or_brand_in_any_case(client):
    CarFactory(brand=BrandFactory(name="Toyota"), model="Corolla")
    CarFactory(brand=BrandFactory(name="Ford"), model="Focus")

    by_model = client.get("/", {"q": "coROLla"}).context["page"].object_list
    by_brand = client.get("/", {"q": "FORD"}).context["page"].object_list

    assert [c.model for c in by_model] == ["Corolla"]
    assert [c.model for c in by_brand] == ["Focus"]


def test_the_list_filters_by_brand_price_and_year(client):
    fiat = BrandFactory(name="Fiat")
    CarFactory(brand=fiat, model="Cheap", value=5000, factory_year=2010, model_year=2010)
    CarFactory(brand=fiat, model="Match", value=20000, factory_year=2019, model_year=2020)
    CarFactory(brand=fiat, model="Dear", value=90000, factory_year=2023, model_year=2023)
    CarFactory(model="Other brand", value=20000, factory_year=2019, model_year=2020)

    page = client.get(
        "/", {"brand": "fiat", "price_min": 10000, "price_max": 50000, "year_min": 2015, "year_max": 2022}
    ).context["page"]

    assert [c.model for c in page] == ["Match"]


def test_the_list_orders_by_price(client):
    for value in (300, 100, 200):
        CarFactory(value=value)

    ascending = [c.value for c in client.get("/", {"ordering": "price"}).context["page"]]
    descending = [c.value for c in client.get("/", {"ordering": "-price"}).context["page"]]

    assert ascending == [100, 200, 300]
    assert descending == [300, 200, 100]


def test_the_list_is_paginated(client):
    CarFactory.create_batch(15)

    first = client.get("/").context["page"]
    second = client.get("/", {"page": 2}).context["page"]

    assert len(first) == 12 and len(second) == 3


def test_buyers_see_only_available_cars_and_staff_see_all(buyer_client, staff):
    CarFactory(model="On sale")
    CarFactory(model="Gone", status=CarStatus.SOLD)
    staff_client = Client()
    staff_client.force_login(staff)

    assert [c.model for c in buyer_client.get("/").context["page"]] == ["On sale"]
    assert {c.model for c in staff_client.get("/").context["page"]} == {"On sale", "Gone"}


@pytest.mark.parametrize("per_page", [12, 48])
def test_a_list_page_costs_the_same_queries_whatever_its_size(client, django_assert_num_queries, per_page):
    CarFactory.create_batch(50, photo=None)

    # session-less anonymous request: count + page of cars (brand joined) + brands for the filter
    with django_assert_num_queries(3):
        response = client.get("/", {"per_page": per_page, "q": "Model"})

    assert len(response.context["page"]) == per_page


def test_an_htmx_request_gets_only_the_results(client):
    CarFactory(model="Corolla")

    response = client.get("/", {"q": "corolla"}, headers={"HX-Request": "true"})

    assert b"Corolla" in response.content and b"<html" not in response.content


def test_the_detail_page_shows_the_car(client):
    car = CarFactory(model="Golf", value=Decimal("19999.50"))

    response = client.get(f"/cars/{car.pk}/")

    assert (
        b"Golf" in response.content
        and b"$19,999.50" in response.content
        and car.stock_code.encode() in response.content
    )


def test_a_buyer_cannot_reach_the_staff_pages(buyer_client):
    car = CarFactory()

    for url in ["/cars/new/", f"/cars/{car.pk}/edit/", f"/cars/{car.pk}/delete/", "/brands/", "/staff/inventory/"]:
        response = buyer_client.get(url)
        assert response.status_code == 403, url


def test_staff_add_a_car_with_a_photo(staff_client):
    brand = BrandFactory()

    response = staff_client.post("/cars/new/", {**car_form_data(brand), "photo": image_upload(1000, 600)})

    car = Car.objects.get(plate="ABC1234")
    assert response.status_code == 302 and response["Location"] == car.get_absolute_url()
    assert car.thumbnail and len(car.stock_code) == 10


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"value": "-1"}, "value", "greater than or equal to 0"),
        ({"factory_year": 2022, "model_year": 2021}, "model_year", "cannot be before the factory year"),
        ({"factory_year": 1899, "model_year": 1900}, "factory_year", "greater than or equal to 1900"),
        ({"factory_year": date.today().year + 1}, "factory_year", "cannot be after"),
    ],
)
def test_staff_get_a_form_error_for_a_bad_value(staff_client, overrides, field, message):
    response = staff_client.post("/cars/new/", car_form_data(BrandFactory(), **overrides))

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Car.objects.exists()


def test_staff_get_a_form_error_for_a_plate_already_used(staff_client):
    CarFactory(plate="ABC1234")

    response = staff_client.post("/cars/new/", car_form_data(BrandFactory(), plate="abc1234"))

    assert "Car with this Plate already exists." in response.context["form"].errors["plate"]
    assert Car.objects.count() == 1


def test_a_file_that_is_not_an_image_gets_a_form_error(staff_client):
    fake = SimpleUploadedFile("car.jpg", b"definitely not a jpeg", content_type="image/jpeg")

    response = staff_client.post("/cars/new/", {**car_form_data(BrandFactory()), "photo": fake})

    assert response.status_code == 200 and response.context["form"].errors["photo"]
    assert not Car.objects.exists()


def test_a_photo_over_the_size_limit_gets_a_form_error(staff_client, settings):
    settings.CARSALES_MAX_UPLOAD_BYTES = 1000

    response = staff_client.post("/cars/new/", {**car_form_data(BrandFactory()), "photo": image_upload(800, 600)})

    assert "the limit is 1000" in response.context["form"].errors["photo"][0]


def test_a_decompression_bomb_gets_a_form_error(staff_client, settings):
    settings.CARSALES_MAX_IMAGE_PIXELS = 100 * 100
    bomb = SimpleUploadedFile("bomb.png", image_bytes(4000, 4000, "PNG"), content_type="image/png")

    response = staff_client.post("/cars/new/", {**car_form_data(BrandFactory()), "photo": bomb})

    assert "pixels" in " ".join(response.context["form"].errors["photo"])
    assert not Car.objects.exists()


def test_staff_edit_a_car(staff_client):
    car = CarFactory(value=1000)

    response = staff_client.post(f"/cars/{car.pk}/edit/", car_form_data(car.brand, plate=car.plate, value="1500"))

    assert response.status_code == 302
    car.refresh_from_db()
    assert car.value == 1500


def test_staff_delete_a_car_after_confirming(staff_client):
    car = CarFactory()

    assert staff_client.get(f"/cars/{car.pk}/delete/").status_code == 200
    response = staff_client.post(f"/cars/{car.pk}/delete/")

    assert response.status_code == 302 and not Car.objects.exists()


def test_deleting_a_brand_that_still_has_cars_is_refused_with_a_message(staff_client):
    car = CarFactory(brand=BrandFactory(name="Lada"))

    response = staff_client.post(f"/brands/{car.brand.pk}/delete/", follow=True)

    assert Brand.objects.filter(name="Lada").exists()
    assert "Lada still has 1 car; delete or move them first." in [str(m) for m in response.context["messages"]]


def test_deleting_a_brand_without_cars_works(staff_client):
    brand = BrandFactory(name="Trabant")

    staff_client.post(f"/brands/{brand.pk}/delete/")

    assert not Brand.objects.filter(pk=brand.pk).exists()


def test_staff_add_a_brand(staff_client):
    staff_client.post("/brands/", {"name": "Alfa Romeo"})

    assert Brand.objects.get(name="Alfa Romeo").slug == "alfa-romeo"
