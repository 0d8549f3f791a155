"""docs/events.md's example runs as it stands on the page."""

import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db.models.signals import post_delete

from carsales.catalog.models import Car
from carsales.conftest import CarFactory, image_upload
from carsales.events.durable import registry
from carsales.events.testing import deliveries_owed, deliveries_run

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_the_declaring_example_runs_as_pasted_and_deletes_the_deleted_cars_photo():
    [example] = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    namespace: dict = {}
    exec(compile(example, str(DOC), "exec"), namespace)
    try:
        car = CarFactory(photo=image_upload())
        photo = car.photo.name
        with deliveries_owed() as owed:
            car.delete()
        ran = deliveries_run([d for d in owed if d.receiver == "example.discard_car_photo"])
    finally:
        post_delete.disconnect(sender=Car, dispatch_uid="events:example.discard_car_photo")
        registry.pop("example.discard_car_photo")

    assert ran == [("example.discard_car_photo", "done")]
    assert not default_storage.exists(photo)
