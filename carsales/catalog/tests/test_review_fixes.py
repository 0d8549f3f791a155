"""Inputs that once answered 500, leaks and mix-ups found by a review of the vehicle data work."""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.test import Client

from carsales.catalog.imports import _text, cars_import
from carsales.catalog.models import Car, CarPhoto
from carsales.catalog.services import car_photos_add
from carsales.conftest import CarFactory, UserFactory, image_bytes
from carsales.core.groups import SALESPERSON

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["golf ²⁰²²", "٢٠٢٢", "²²²²"])
def test_digits_of_other_scripts_in_a_search_are_words_not_a_crash(query: str):
    CarFactory(model="Golf")

    assert Client().get("/", {"q": query}).status_code == 200
    assert Client().get("/api/cars/", {"q": query}).status_code == 200


def test_days_in_stock_far_beyond_the_calendar_are_a_form_error_and_a_400(staff_client: Client):
    assert "in_stock_days_min" in staff_client.get("/", {"in_stock_days_min": "800000"}).context["form"].errors
    assert Client().get("/api/cars/", {"in_stock_days_min": "800000"}).status_code == 400


def test_odd_digits_in_the_admin_and_inventory_filters_are_ignored(staff_client: Client):
    assert staff_client.get("/admin/catalog/car/", {"in_stock_days_min": "²"}).status_code == 200
    assert staff_client.get("/staff/inventory/", {"older_than": "²"}).status_code == 200


def test_an_import_row_whose_brand_cannot_be_a_brand_is_reported_and_the_batch_goes_on():
    rows = [
        (2, {"brand": "???", "model": "X", "factory_year": "2020", "model_year": "2020", "plate": "A1"}),
        (3, {"brand": "Kia", "model": "Rio", "factory_year": "2020", "model_year": "2020", "plate": "A2"}),
    ]

    report = cars_import(iter(rows))

    assert report.added == 1 and report.problems[0][0] == 2 and "brand" in report.problems[0][1]
    assert list(Car.objects.values_list("plate", flat=True)) == ["A2"]


def test_a_cell_escaped_by_the_export_comes_back_as_it_was():
    assert [_text(cell) for cell in ("'=1+1", "'\tBlue", "'@me", "It's", "'quoted'")] == [
        "=1+1", "\tBlue", "@me", "It's", "'quoted'",
    ]  # fmt: skip


def test_a_salesperson_who_sees_masked_plates_cannot_download_them_whole():
    sales = UserFactory(is_staff=True)
    sales.groups.add(Group.objects.get(name=SALESPERSON))
    client = Client()
    client.force_login(sales)

    assert client.get("/cars/export.csv").status_code == 403


def test_photos_with_the_same_file_name_on_two_cars_keep_their_own_renditions(run_tasks: Any):
    first, second = CarFactory(), CarFactory()
    car_photos_add(car=first, files=[ContentFile(image_bytes(800, 600), name="front.jpg")])
    car_photos_add(car=second, files=[ContentFile(image_bytes(800, 600, "PNG"), name="front.png")])
    run_tasks()

    one, two = CarPhoto.objects.get(car=first), CarPhoto.objects.get(car=second)
    assert one.large.name != two.large.name and one.small.name != two.small.name


def test_without_a_cover_every_gallery_photo_but_the_first_can_move_earlier(staff_client: Client):
    car = CarFactory(photo=None)
    car_photos_add(car=car, files=[ContentFile(image_bytes(400, 300), name=f"{n}.jpg") for n in range(3)])

    page = staff_client.get(f"/cars/{car.pk}/photos/").content.decode()

    assert page.count("↑ Earlier") == 2 and page.count("↓ Later") == 2
