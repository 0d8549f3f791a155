"""A car deleted by another request while staff change its gallery: every gallery action, on the
pages and in the API, answers 404 "deleted meanwhile", never a 500 (core.gone).

The deletion is made to land between the view's lookup and the service's locked read, where a
concurrent request's would: the service finds the row gone and raises Car.DoesNotExist.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from carsales.catalog import services
from carsales.catalog.models import Car, CarPhoto
from carsales.catalog.services import car_photos_add
from carsales.conftest import CarFactory, image_upload, token_client

pytestmark = pytest.mark.django_db

# (how, path under the car's id and its first photo's id, what is posted)
PAGE_ACTIONS: dict[str, Callable[[Client, int, int], Any]] = {
    "upload": lambda client, car, photo: client.post(f"/cars/{car}/photos/", {"photos": [image_upload()]}),
    "delete": lambda client, car, photo: client.post(f"/cars/{car}/photos/{photo}/delete/"),
    "cover": lambda client, car, photo: client.post(f"/cars/{car}/photos/{photo}/cover/"),
    "later": lambda client, car, photo: client.post(f"/cars/{car}/photos/{photo}/later/"),
}
API_ACTIONS: dict[str, Callable[[APIClient, int, int], Any]] = {
    "upload": lambda api, car, photo: api.post(
        f"/api/cars/{car}/photos/", {"photos": [image_upload()]}, format="multipart"
    ),
    "delete": lambda api, car, photo: api.delete(f"/api/cars/{car}/photos/{photo}/"),
    "cover": lambda api, car, photo: api.post(f"/api/cars/{car}/photos/{photo}/cover/"),
    "order": lambda api, car, photo: api.put(f"/api/cars/{car}/photos/order/", {"photo_ids": [photo]}, format="json"),
    "edit": lambda api, car, photo: api.patch(f"/api/cars/{car}/", {"model": "Renamed"}, format="json"),
}


@pytest.fixture
def deleted_meanwhile(monkeypatch: pytest.MonkeyPatch) -> Car:
    """A car with a photo, deleted just before each gallery service reads it locked."""
    car = CarFactory()
    car_photos_add(car=car, files=[image_upload()])
    locked = services._car_locked

    def after_a_concurrent_delete(given: Car) -> Car:
        Car.objects.filter(pk=given.pk).delete()
        return locked(given)

    monkeypatch.setattr(services, "_car_locked", after_a_concurrent_delete)
    stored = Car.stored.locked

    def edited_after_a_concurrent_delete(given: Car, **options: Any) -> Any:
        Car.objects.filter(pk=given.pk).delete()
        return stored(given, **options)

    monkeypatch.setattr(Car.stored, "locked", edited_after_a_concurrent_delete)
    return car


@pytest.mark.parametrize("action", sorted(PAGE_ACTIONS))
def test_a_gallery_page_action_on_a_car_deleted_meanwhile_is_a_404(
    action: str, staff_client: Client, deleted_meanwhile
):
    photo = CarPhoto.objects.get(car=deleted_meanwhile)

    response = PAGE_ACTIONS[action](staff_client, deleted_meanwhile.pk, photo.pk)

    assert response.status_code == 404


@pytest.mark.parametrize("action", sorted(API_ACTIONS))
def test_a_gallery_api_action_on_a_car_deleted_meanwhile_is_a_404_saying_so(action: str, admin_user, deleted_meanwhile):
    photo = CarPhoto.objects.get(car=deleted_meanwhile)

    response = API_ACTIONS[action](token_client(admin_user), deleted_meanwhile.pk, photo.pk)

    assert response.status_code == 404
    assert response.json() == {"detail": "This car was deleted meanwhile."}


def test_a_row_missing_for_any_other_reason_is_still_a_500(staff, monkeypatch: pytest.MonkeyPatch):
    """Only a locked re-read's "deleted meanwhile" is a 404: a DoesNotExist from a bug stays an error."""
    from carsales.catalog import views

    car = CarFactory()

    def broken(**kwargs: Any) -> Any:
        raise Car.DoesNotExist("a bug")

    monkeypatch.setattr(views, "car_gallery", broken)
    client = Client(raise_request_exception=False)
    client.force_login(staff)

    assert client.get(f"/cars/{car.pk}/photos/").status_code == 500
