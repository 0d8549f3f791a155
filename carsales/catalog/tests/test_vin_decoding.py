"""A new VIN is decoded after commit: blanks filled, nothing staff typed overwritten, staff told."""

from typing import Any

import pytest
from django.test import Client

from carsales.catalog.models import Car, CarVinReport
from carsales.catalog.services import car_update, car_vin_decode
from carsales.conftest import BrandFactory, CarFactory, token_client
from carsales.events.models import Delivery

pytestmark = pytest.mark.django_db

HONDA_VIN = "1HGCM82633A004352"  # Honda, United States, model year 2003
RENAULT_VIN = "VF1LM1B0H36666155"  # Renault Mégane II, "Sedan, 4-Door", model year 2003


def report_of(car: Car) -> CarVinReport:
    return CarVinReport.objects.get(car=car)


def test_a_car_created_through_the_api_with_a_vin_gets_its_report_after_commit(admin_user: Any, run_tasks: Any):
    honda = BrandFactory(name="Honda")
    body = {"brand": honda.slug, "model": "Accord", "factory_year": 2003, "model_year": 2003, "plate": "H1",
            "vin": HONDA_VIN}  # fmt: skip

    response = token_client(admin_user).post("/api/cars/", body)
    assert response.status_code == 201 and not CarVinReport.objects.exists()  # not before the worker
    run_tasks()

    report = report_of(Car.objects.get())
    assert (report.manufacturer, report.country, report.model_years) == ("Honda", "United States", [2003])
    assert report.disagreements == [] and report.problem == ""


def test_decoding_fills_what_staff_left_blank_and_never_what_they_typed(run_tasks: Any):
    renault = BrandFactory(name="Renault")
    blank = CarFactory(brand=renault, factory_year=2003, model_year=2003, vin=RENAULT_VIN)
    typed = CarFactory(brand=renault, factory_year=2003, model_year=2003, body="hatchback", doors=5)
    car_update(car=typed, vin=RENAULT_VIN[:-1] + "6")  # another serial, same facts

    run_tasks()

    blank.refresh_from_db()
    typed.refresh_from_db()
    assert (blank.body, blank.doors) == ("sedan", 4) and report_of(blank).filled == ["body", "doors"]
    assert (typed.body, typed.doors) == ("hatchback", 5) and report_of(typed).filled == []
    assert report_of(typed).disagreements == [
        "Body type: the VIN says Sedan, the car says Hatchback.",
        "Doors: the VIN says 4, the car says 5.",
    ]


def test_a_vin_of_another_maker_or_year_is_reported_to_staff_on_the_car_page_and_hidden_from_visitors(
    admin_user: Any, run_tasks: Any
):
    car = CarFactory(brand=BrandFactory(name="Toyota"), factory_year=2005, model_year=2005, vin=HONDA_VIN)
    run_tasks()
    staff = Client()
    staff.force_login(admin_user)

    staff_page = staff.get(f"/cars/{car.pk}/").content.decode()
    visitor_page = Client().get(f"/cars/{car.pk}/").content.decode()

    assert "Maker: the VIN is of a Honda, the brand chosen is Toyota." in staff_page
    assert "Model year: the VIN says 2003, the car says 2005." in staff_page
    assert "What the VIN says" not in visitor_page and "Honda" not in visitor_page


def test_a_vin_that_cannot_be_decoded_is_a_note_for_staff_not_an_error(run_tasks: Any):
    car = CarFactory(vin="99999999999999999")

    run_tasks()

    report = report_of(car)
    assert "is not known" in report.problem and report.manufacturer == ""
    assert Car.objects.get(pk=car.pk).vin == "99999999999999999"


def test_a_second_run_changes_nothing_and_a_stale_run_for_a_replaced_vin_does_nothing():
    renault = BrandFactory(name="Renault")
    car = CarFactory(brand=renault, factory_year=2003, model_year=2003, vin=RENAULT_VIN)
    first = car_vin_decode(car_id=car.pk, vin=RENAULT_VIN)
    again = car_vin_decode(car_id=car.pk, vin=RENAULT_VIN)
    assert first and again and again.filled == first.filled == ["body", "doors"]

    car_update(car=Car.objects.get(pk=car.pk), vin=HONDA_VIN)
    assert car_vin_decode(car_id=car.pk, vin=RENAULT_VIN) is None
    assert report_of(car).vin == RENAULT_VIN  # left for the Honda VIN's own run


def test_clearing_the_vin_drops_its_report_and_a_new_car_without_vin_queues_nothing(run_tasks: Any):
    car = CarFactory(vin=HONDA_VIN)
    run_tasks()
    assert CarVinReport.objects.filter(car=car).exists()

    car_update(car=Car.objects.get(pk=car.pk), vin="")
    run_tasks()

    assert not CarVinReport.objects.filter(car=car).exists()
    CarFactory(vin="")
    assert not Delivery.objects.filter(receiver="catalog.decode_new_vin", status="pending").exists()
