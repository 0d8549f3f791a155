"""Brand writes racing the car writes that reference the brand, each writer on its own connection:
SQLite in the first pass of `make test` (one write transaction at a time), PostgreSQL (row locks,
foreign keys checked at commit) in the second. A car's write locks the catalogue's version as it
goes and its brand's row only at commit; a brand's write locks the version first (brand_writes_wait)."""

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.db.models.deletion import Collector
from django.http import HttpResponse
from django.test import Client

from carsales.catalog.imports import cars_import
from carsales.catalog.models import Brand, Car
from carsales.catalog.services import (
    BrandInUse,
    brand_create,
    brand_delete,
    brand_rename,
    car_create,
    car_delete,
    car_photos_add,
    car_update,
)
from carsales.conftest import BrandFactory, CarFactory, UserFactory, image_upload, run_together
from carsales.core.gone import DeletedMeanwhile
from carsales.core.tests.invariants import assert_store_is_true

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 5


def _car_added(brand: Brand, plate: str) -> Callable[[], object]:
    return lambda: car_create(brand=brand, model="New", factory_year=2020, model_year=2020, plate=plate)


def _rows(brand_name: str, tag: str, count: int = 5) -> list[tuple[int, dict[str, str]]]:
    row = {"brand": brand_name, "model": "Imported", "factory_year": "2020", "model_year": "2020", "value": "10"}
    return [(line + 2, row | {"plate": f"{tag}X{line}"}) for line in range(count)]


def _bulk_renamed(brand: Brand) -> None:
    stored = Brand.objects.get(pk=brand.pk)
    stored.name = f"{brand.name} II"
    with transaction.atomic():  # as a script would: the version's lock held with the brand's
        Brand.objects.bulk_update([stored], ["name"])


def _queryset_renamed(brand: Brand) -> None:
    with transaction.atomic():
        Brand.objects.filter(pk=brand.pk).update(name=f"{brand.name} II")


def _saved_renamed(brand: Brand) -> None:
    stored = Brand.objects.get(pk=brand.pk)
    stored.name = f"{brand.name} II"
    stored.save()


# Every path that renames a brand: the service (the site, the API, the admin), a shell's save, a
# queryset's update and bulk_update.
RENAMES: dict[str, Callable[[Brand], object]] = {
    "service": lambda brand: brand_rename(brand=Brand.objects.get(pk=brand.pk), name=f"{brand.name} II"),
    "save": _saved_renamed,
    "update": _queryset_renamed,
    "bulk_update": _bulk_renamed,
}


def _deleted(brand: Brand) -> Callable[[], object]:
    return lambda: brand_delete(brand=Brand.objects.get(pk=brand.pk))


def _moved_to(brand: Brand, car: Car) -> Callable[[], object]:
    return lambda: car_update(car=Car.objects.get(pk=car.pk), brand=brand)


# What adds a car to a brand: the service, a car moved to it from another brand, the CSV import.
CARS_ADDED_TO: dict[str, Callable[[Brand, int], Callable[[], object]]] = {
    "car created": lambda brand, n: _car_added(brand, f"BR{n}X"),
    "car moved to it": lambda brand, n: _moved_to(brand, CarFactory()),
    "import": lambda brand, n: lambda: cars_import(_rows(brand.name, f"IM{n}")),
}


@pytest.mark.parametrize("renaming", RENAMES)
@pytest.mark.parametrize("adding", CARS_ADDED_TO)
def test_a_brand_renamed_as_a_car_is_added_to_it_never_deadlocks(adding, renaming):
    for round_number in range(ROUNDS):
        brand = BrandFactory()

        errors = run_together([lambda b=brand: RENAMES[renaming](b), CARS_ADDED_TO[adding](brand, round_number)])

        assert errors == [], f"round {round_number}: {errors}"
        assert Brand.objects.get(pk=brand.pk).name.endswith(" II")
        assert_store_is_true(f"round {round_number}")


@pytest.mark.parametrize("adding", CARS_ADDED_TO)
def test_a_brand_deleted_as_a_car_is_added_to_it_is_refused_or_the_car_is_never_a_database_error(adding):
    for round_number in range(ROUNDS):
        brand = BrandFactory()

        errors = run_together([_deleted(brand), CARS_ADDED_TO[adding](brand, round_number)])

        # The car first: the deletion is refused, naming it. The deletion first: the car is refused
        # as any car for a brand that is gone is (the import reports its rows and goes on).
        assert all(isinstance(error, BrandInUse | ValidationError | DeletedMeanwhile) for error in errors), errors
        kept = Brand.objects.filter(pk=brand.pk).exists()
        assert kept == Car.objects.filter(brand_id=brand.pk).exists(), f"round {round_number}: {errors}"
        assert_store_is_true(f"round {round_number}")


def test_an_import_adding_a_brand_staff_add_at_the_same_moment_imports_every_row():
    for round_number in range(ROUNDS):
        name = f"Fresh {round_number}"
        reports: list[object] = []

        errors = run_together(
            [
                lambda n=name, r=round_number, reports=reports: reports.append(cars_import(_rows(n, f"FR{r}"))),
                lambda n=name: brand_create(name=n),
            ]
        )

        # Staff's add may be the one refused ("added at the same moment"): the import's brand stands.
        assert all(isinstance(error, ValidationError) for error in errors), errors
        (report,) = reports
        assert report.added == 5 and report.problems == [], f"round {round_number}: {report}"  # type: ignore[attr-defined]
        assert Car.objects.filter(brand__name=name).count() == 5


def _photo_posted(path: str, staff: object, car: Car) -> Callable[[], object]:
    page = Client()
    page.force_login(staff)
    if path == "add":
        return lambda: page.post(
            "/admin/catalog/carphoto/add/", {"car": car.pk, "image": image_upload(), "position": 0}
        )
    (photo,) = car_photos_add(car=car, files=[image_upload()])
    return lambda: page.post(
        f"/admin/catalog/carphoto/{photo.pk}/change/", {"car": car.pk, "image": image_upload(), "position": 1}
    )


def _status_and_errors(answer: HttpResponse) -> tuple[int, bool]:
    """The answer's status, and whether its form said the car is not there to choose."""
    page = answer.content.decode() if answer.status_code == 200 else ""
    return answer.status_code, "not a valid choice" in page or "available choices" in page


@pytest.mark.parametrize("path", ["add", "change"])
def test_an_admin_photo_page_saved_as_its_car_is_deleted_is_saved_first_or_a_404_never_a_500(path):
    staff = UserFactory(is_staff=True, is_superuser=True)
    for round_number in range(ROUNDS):
        car = CarFactory()
        answers: list[tuple[int, bool]] = []
        post = _photo_posted(path, staff, car)

        errors = run_together(
            [
                lambda p=post, answers=answers: answers.append(_status_and_errors(p())),
                lambda c=car: car_delete(car=Car.objects.get(pk=c.pk)),
            ]
        )

        # Saved before the deletion (which takes the photo along); or the car gone when the form
        # looked (its field: not a valid choice), or when the save looked (404).
        [(status, car_refused)] = answers
        assert errors == [] and (status in (302, 404) or car_refused), f"{round_number}: {errors} {answers}"
        assert not Car.objects.filter(pk=car.pk).exists()
        assert_store_is_true(f"round {round_number}")


def _admin_deleted(brand: Brand, *, selected: bool) -> None:
    page = Client()
    page.force_login(UserFactory(is_staff=True, is_superuser=True))
    if selected:
        chosen = {"action": "delete_selected", "_selected_action": [brand.pk], "post": "yes"}
        answer = page.post("/admin/catalog/brand/", chosen)
    else:
        answer = page.post(f"/admin/catalog/brand/{brand.pk}/delete/", {"post": "yes"})
    # Done (a redirect), or refused with the page saying why: never an error.
    assert answer.status_code == 302 or "Cannot delete" in answer.content.decode(), answer.status_code


# Every path that deletes a brand: the service, a shell's instance and queryset deletes, the admin's
# page and its "delete selected".
BRAND_DELETES: dict[str, Callable[[Brand], object]] = {
    "service": lambda brand: brand_delete(brand=brand),
    "instance": lambda brand: Brand.objects.get(pk=brand.pk).delete(),
    "queryset": lambda brand: Brand.objects.filter(pk=brand.pk).delete(),
    "admin page": lambda brand: _admin_deleted(brand, selected=False),
    "admin action": lambda brand: _admin_deleted(brand, selected=True),
}


@pytest.mark.parametrize("path", BRAND_DELETES)
def test_a_car_added_after_a_brand_deletion_looked_for_cars_refuses_it_never_a_database_error(monkeypatch, path):
    """Django's deletion looked for the brand's cars and found none; a car came before it deleted
    (here, run at that moment): the car as stored refuses the deletion, as one found first would."""
    brand = BrandFactory()
    real = Collector.delete
    added: list[object] = []

    def delete(self: Collector) -> object:
        if not added and Brand in self.data:
            added.append(_car_added(brand, "LATE1")())
        return real(self)

    monkeypatch.setattr(Collector, "delete", delete)

    refused = False
    try:
        BRAND_DELETES[path](brand)
    except (BrandInUse, ProtectedError) as refusal:
        refused = "still has 1 car" in str(refusal)

    assert added
    # Refused, the brand kept: the car was committed on its own (a shell's deletes, the admin's
    # action, whose page asked again names it), or added in the service's transaction and rolled
    # back with the refusal. Added in the admin delete page's own transaction (here), it was rolled
    # back with the refusal too, and the page asked again found nothing keeping the brand.
    assert refused or path.startswith("admin")
    assert Brand.objects.filter(pk=brand.pk).exists() == (path != "admin page")
    assert_store_is_true()
