"""A bulk write of cars keeps Django's update's word on which rows it writes: those matching the
query when their locks are granted, not when they were first picked."""

import threading
import time

import pytest
from django.db import connection, transaction

from carsales.catalog.models import Car
from carsales.catalog.services import car_update
from carsales.conftest import BrandFactory, CarFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_bulk_write_asking_for_no_bio_leaves_a_bio_staff_typed_meanwhile():
    car = CarFactory(bio="")
    typed = threading.Event()

    def staff_type_a_bio() -> None:
        try:
            with transaction.atomic():
                car_update(car=Car.objects.get(pk=car.pk), bio="Typed by staff.")
                typed.set()
                time.sleep(1)  # the bulk write below picks the car now, and waits for its lock
        finally:
            connection.close()

    staff = threading.Thread(target=staff_type_a_bio)
    staff.start()
    assert typed.wait(timeout=10)
    written = Car.objects.filter(pk=car.pk, bio="").update(bio="Written by a script.", colour="Teal")
    staff.join(timeout=30)

    stored = Car.objects.get(pk=car.pk)
    assert (written, stored.bio, stored.colour) == (0, "Typed by staff.", car.colour)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="DISTINCT ON is PostgreSQL's")
def test_a_bulk_write_of_a_distinct_on_query_writes_one_car_per_brand_as_djangos_does():
    brands = BrandFactory.create_batch(2)
    for brand in brands:
        CarFactory.create_batch(2, brand=brand, colour="Red")

    written = Car.objects.order_by("brand", "pk").distinct("brand").update(colour="Teal")

    assert written == 2 and sorted(Car.objects.filter(colour="Teal").values_list("brand", flat=True)) == sorted(
        brand.pk for brand in brands
    )
