"""A row deleted by another request while a request acts on it: a car while staff change its
gallery, a car or cart as a buyer adds to it, an order being refunded, a brand being renamed. Every
such action, on the pages, in the API and the admin, answers 404 "deleted meanwhile", never a 500
(core.gone).

The deletion is made to land between the view's lookup and the service's locked read, where a
concurrent request's would: the service finds the row gone and raises Car.DoesNotExist.
"""

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

import carsales
from carsales.catalog import services
from carsales.catalog.models import Brand, Car, CarPhoto
from carsales.catalog.services import car_photos_add
from carsales.conftest import BrandFactory, CarFactory, UserFactory, image_upload, sold_car, token_client
from carsales.orders.models import Cart, Order
from carsales.sales.models import Sale
from carsales.sales.services import sale_void

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


# Each service a view calls after finding its row, and the row another request deletes meanwhile:
# the service's locked re-read (stored_or_gone) finds it gone.
def _deleted_first(monkeypatch: pytest.MonkeyPatch, module: str, service: str, delete: Callable[..., None]) -> None:
    real = getattr(importlib.import_module(module), service)

    def after_a_concurrent_delete(**given: Any) -> Any:
        delete(**given)
        return real(**given)

    monkeypatch.setattr(f"{module}.{service}", after_a_concurrent_delete)


def _car_deleted(**given: Any) -> None:
    Car.objects.filter(pk=given["car"].pk).delete()


def _cart_deleted(**given: Any) -> None:  # as a log-in in another tab merges a visitor's cart away
    Cart.objects.filter(pk=given["cart"].pk).delete()


def _order_deleted(**given: Any) -> None:
    Order.objects.filter(pk=given["order"].pk).delete()


def _brand_deleted(**given: Any) -> None:
    Brand.objects.filter(pk=given["brand"].pk).delete()


def _voided_for_an_error() -> Order:
    """A paid order whose sale was voided as an error: its refund owed, the order deletable."""
    sold_car()
    sale_void(sale=Sale.objects.get(), actor=None, reason="error")
    return Order.objects.get()


# (module and service, the deletion, the request, what is gone)
DELETED_MEANWHILE: dict[str, tuple[str, str, Callable[..., None], Callable[..., Any], str]] = {
    "api cart add": ("carsales.orders.api", "cart_item_add", _car_deleted,
                     lambda c: token_client(c["buyer"]).post("/api/cart/items/", {"car": c["car"].pk}), "car"),
    "page cart add": ("carsales.orders.views", "cart_item_add", _car_deleted,
                      lambda c: c["buyer_page"].post(f"/cart/add/{c['car'].pk}/"), "car"),
    "page cart add, a visitor's cart merged away": ("carsales.orders.views", "cart_item_add", _cart_deleted,
                      lambda c: Client().post(f"/cart/add/{c['car'].pk}/"), "cart"),
    "api refund": ("carsales.orders.api", "order_record_refund", _order_deleted,
                   lambda c: token_client(c["staff"]).post(f"/api/orders/{_voided_for_an_error().pk}/refund/",
                                                           {"reference": "R1"}), "order"),
    "api brand rename": ("carsales.catalog.api", "brand_rename", _brand_deleted,
                         lambda c: token_client(c["staff"]).patch(f"/api/brands/{c['brand'].pk}/",
                                                                  {"name": "Renamed"}), "brand"),
    "admin brand rename": ("carsales.catalog.admin", "brand_rename", _brand_deleted,
                           lambda c: c["staff_page"].post(f"/admin/catalog/brand/{c['brand'].pk}/change/",
                                                          {"name": "Renamed"}), "brand"),
}  # fmt: skip


@pytest.mark.parametrize("path", DELETED_MEANWHILE)
def test_a_row_deleted_by_another_request_before_the_service_reads_it_locked_is_a_404(path, monkeypatch):
    module, service, delete, request, gone = DELETED_MEANWHILE[path]
    buyer, staff = UserFactory(), UserFactory(is_staff=True, is_superuser=True)
    buyer_page, staff_page = Client(), Client()
    buyer_page.force_login(buyer)
    staff_page.force_login(staff)
    car, brand = CarFactory(), BrandFactory()  # a brand with no car, which its staff may delete
    _deleted_first(monkeypatch, module, service, delete)

    response = request(
        {"car": car, "brand": brand, "buyer": buyer, "staff": staff, "buyer_page": buyer_page, "staff_page": staff_page}
    )

    assert response.status_code == 404
    if path.startswith("api"):
        assert response.json() == {"detail": f"This {gone} was deleted meanwhile."}


def test_every_locked_re_read_in_the_code_says_a_row_deleted_meanwhile(tmp_path):
    """A service reads its row again locked through stored_or_gone: a bare get() on a locked
    queryset would let the model's own DoesNotExist escape, a 500."""
    bare_locked_get = re.compile(r"select_for_update\([^)]*\)(\.\w+\([^)]*\))*\.get\(")
    sources = [path for path in Path(carsales.__file__).parent.rglob("*.py") if "tests" not in path.parts]
    offenders = [
        f"{path.relative_to(Path(carsales.__file__).parent)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if bare_locked_get.search(line)
    ]
    assert offenders == []


def test_a_row_found_for_its_parent_costs_one_query_and_one_made_for_a_parent_gone_is_deleted_meanwhile(
    django_assert_num_queries,
):
    from carsales.accounts.models import Buyer
    from carsales.core.gone import DeletedMeanwhile, found_or_made_for

    buyer = UserFactory().buyer
    made = found_or_made_for(buyer, Cart, buyer=buyer)
    with django_assert_num_queries(1):
        assert found_or_made_for(buyer, Cart, buyer=buyer) == made

    other = UserFactory().buyer
    with CaptureQueriesContext(connection) as made:
        found_or_made_for(other, Cart, buyer=other)
    assert connection.vendor != "postgresql" or any("FOR NO KEY UPDATE" in q["sql"] for q in made.captured_queries)

    gone = UserFactory().buyer
    Buyer.objects.filter(pk=gone.pk).delete()
    with pytest.raises(Buyer.DoesNotExist) as raised:
        found_or_made_for(gone, Cart, buyer=gone)
    assert isinstance(raised.value, DeletedMeanwhile) and not Cart.objects.filter(buyer_id=gone.pk).exists()
