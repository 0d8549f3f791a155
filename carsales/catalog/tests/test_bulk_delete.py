"""Cars deleted many at once (a queryset delete, the admin's "delete selected"): one cars_removed,
every record follows, in a number of statements that does not grow with the number of cars."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from carsales.audit.models import AuditEntry
from carsales.catalog.models import Car, CarPhoto, PriceChange
from carsales.conftest import CarFactory, image_upload, order_for
from carsales.core.tests.invariants import assert_store_is_true
from carsales.events.models import Delivery
from carsales.inventory.models import CarInventory
from carsales.inventory.selectors import inventory_current

pytestmark = pytest.mark.django_db


def test_deleting_many_cars_moves_the_inventory_once_and_logs_each(sent_signals):
    kept = CarFactory(value=Decimal("100"))
    gone = CarFactory.create_batch(3, value=Decimal("1000"))
    snapshots = CarInventory.objects.count()

    deleted, counts = Car.objects.filter(value=1000).delete()

    assert counts["catalog.Car"] == 3 and deleted >= 3
    assert inventory_current().cars_count == 1 and inventory_current().cars_value == Decimal("100")
    assert CarInventory.objects.count() == snapshots + 1
    assert [len(sent.kwargs["cars"]) for sent in sent_signals.of("cars_removed")] == [3]
    assert not sent_signals.of("post_delete")  # no signal per car (nor per price-history row)
    assert AuditEntry.objects.filter(action="car.deleted").count() == 3
    assert not PriceChange.objects.filter(car_id__in=[car.pk for car in gone]).exists()
    assert Car.objects.get() == kept
    assert_store_is_true()


def test_a_car_on_an_order_protects_the_whole_delete():
    cars = CarFactory.create_batch(2)
    order_for(cars[0])

    with pytest.raises(ProtectedError):
        Car.objects.all().delete()

    assert Car.objects.count() == 2
    assert_store_is_true()


def test_the_photos_of_cars_deleted_together_are_discarded_by_one_delivery(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cars = [CarFactory(photo=image_upload(name=f"car{n}.jpg")) for n in range(2)]
    CarPhoto.objects.create(car=cars[0], image=image_upload(name="extra.jpg"), position=1)
    before = set(Delivery.objects.values_list("pk", flat=True))

    Car.objects.filter(pk__in=[car.pk for car in cars]).delete()

    owed = Delivery.objects.exclude(pk__in=before)
    assert owed.filter(receiver="catalog.discard_removed_cars_files").count() == 1
    files = owed.get(receiver="catalog.discard_removed_cars_files").payload
    assert all(car.photo.name in str(files) for car in cars)
    assert not CarPhoto.objects.exists()


def test_the_statements_of_a_bulk_delete_do_not_grow_with_the_cars():
    def statements(count: int) -> int:
        ids = [car.pk for car in CarFactory.create_batch(count)]
        with CaptureQueriesContext(connection) as queries:
            Car.objects.filter(pk__in=ids).delete()
        assert not Car.objects.filter(pk__in=ids).exists()
        return len(queries)

    assert statements(3) == statements(30)
    assert_store_is_true()


def test_the_manager_has_no_delete_and_the_guards_of_djangos_delete_hold():
    CarFactory()

    assert not hasattr(Car.objects, "delete")  # Car.objects.delete() would empty the stock with a typo
    with pytest.raises(TypeError):
        Car.objects.values("pk").delete()
    with pytest.raises(TypeError):
        Car.objects.all()[:1].delete()
    assert Car.objects.count() == 1


def test_a_car_id_used_again_is_not_logged_deleted_twice():
    """A fixture reloaded with the ids of cars deleted before: deleting them again still works."""
    car = CarFactory()
    pk = car.pk
    Car.objects.filter(pk=pk).delete()
    CarFactory(pk=pk)

    Car.objects.filter(pk=pk).delete()

    assert AuditEntry.objects.filter(action="car.deleted", object_id=str(pk)).count() == 1
    assert_store_is_true()


def test_cars_added_outside_a_transaction_are_all_or_nothing(monkeypatch):
    """cars_add_many is one transaction: a failing receiver of cars_added rolls its cars back."""
    from carsales.catalog.services import cars_add_many
    from carsales.catalog.signals import cars_added
    from carsales.conftest import BrandFactory

    brand = BrandFactory()

    def broken(**kwargs):
        raise RuntimeError("a receiver fails")

    cars_added.connect(broken, dispatch_uid="tests.broken_cars_added", weak=False)
    try:
        with pytest.raises(RuntimeError):
            cars_add_many(cars=[Car(brand=brand, model="X", factory_year=2020, model_year=2020, plate="ATOM1")])
    finally:
        cars_added.disconnect(dispatch_uid="tests.broken_cars_added")

    assert not Car.objects.filter(plate="ATOM1").exists()
