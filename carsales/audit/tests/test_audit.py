"""The audit log: who did what, on every path, append-only, kept after the actor's account goes."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from carsales.audit.models import AuditEntry
from carsales.audit.receivers import log_car_saved, log_order_placed
from carsales.catalog.models import Car
from carsales.catalog.services import car_delete, car_update
from carsales.conftest import BrandFactory, CarFactory, UserFactory, order_for
from carsales.core.actor import acting_as
from carsales.orders.services import order_cancel, order_mark_paid
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db


def actions(target, pk=None) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type=target._meta.label, object_id=str(pk or target.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_a_cars_life_is_logged_with_its_price_changes_and_who_made_them(staff):
    with acting_as(staff):
        car = CarFactory(value=Decimal("10000"))
        pk = car.pk
        car_update(car=car, value=Decimal("9500"))
        car_update(car=car, model="Renamed")
        car_update(car=car, value=Decimal("9000"), colour="Blue")  # one save, both logged
        car_delete(car=car)

    assert actions(car, pk) == [
        "car.created", "car.price_changed", "car.edited", "car.price_changed", "car.edited", "car.deleted"
    ]  # fmt: skip
    last_edit = AuditEntry.objects.filter(action="car.edited").order_by("id").last()
    assert last_edit is not None and last_edit.detail["fields"] == ["colour"]
    price = AuditEntry.objects.filter(action="car.price_changed").order_by("id").first()
    assert price.detail["old"] == "10000.00" and price.detail["new"] == "9500.00"
    assert set(AuditEntry.objects.values_list("actor_name", flat=True)) == {staff.username}


def test_a_price_change_from_a_stale_instance_logs_the_stored_old_price():
    car = CarFactory(value=Decimal("100"))
    stale = Car.objects.get(pk=car.pk)
    car_update(car=car, value=Decimal("200"))

    car_update(car=stale, value=Decimal("300"))

    assert list(
        AuditEntry.objects.filter(action="car.price_changed").order_by("id").values_list("detail", flat=True)
    ) == [
        {"car": str(car), "old": "100.00", "new": "200.00"},
        {"car": str(car), "old": "200.00", "new": "300.00"},
    ]


def test_a_repeated_signal_for_one_save_logs_once():
    car = CarFactory()

    log_car_saved(sender=Car, instance=car, created=True, raw=False)

    assert actions(car) == ["car.created"]


def test_an_order_event_sent_twice_is_logged_once(staff):
    order = order_for(CarFactory())

    log_order_placed(sender=type(order), order=order, actor=staff)

    assert actions(order) == ["order.placed"]


def test_the_order_flow_and_a_voided_sale_are_logged_with_their_actors(staff):
    buyer = UserFactory()
    placed = order_for(CarFactory(), user=buyer)
    order_cancel(order=placed, actor=buyer)
    paid = order_mark_paid(order=order_for(CarFactory()), actor=staff, method="transfer", reference="TR 9")
    sale_void(sale=paid.sale, actor=staff)

    assert actions(placed) == ["order.placed", "order.cancelled"]
    assert AuditEntry.objects.get(action="order.cancelled").actor_name == buyer.username
    assert AuditEntry.objects.get(action="sale.voided").actor_name == staff.username
    assert AuditEntry.objects.get(action="order.paid").actor == staff
    assert AuditEntry.objects.get(action="order.paid").detail == {
        "total_price": str(paid.total_price),
        "method": "transfer",
        "reference": "TR 9",
    }


def test_the_log_is_append_only_on_every_path():
    CarFactory()
    entry = AuditEntry.objects.get()

    entry.action = "forged"
    for write in (
        entry.save,
        entry.delete,
        AuditEntry.objects.all().delete,
        lambda: AuditEntry.objects.update(action="x"),
        lambda: AuditEntry.objects.update(actor=None),  # the change a deleted account's entries take, on all
        lambda: AuditEntry.objects.filter(actor__isnull=False).update(actor=None),
        lambda: AuditEntry.objects.bulk_create(
            [AuditEntry(pk=entry.pk, action="forged", object_type="car", object_id="1")],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["action"],
        ),
        lambda: AuditEntry.objects.bulk_create(  # the same, its arguments by position
            [AuditEntry(pk=entry.pk, action="forged", object_type="car", object_id="1")],
            None,
            False,
            True,
            ["action"],
            ["id"],
        ),
    ):
        with pytest.raises(TypeError, match="append-only"), transaction.atomic():
            write()
    with pytest.raises(IntegrityError), transaction.atomic():  # a new entry given a stored id: an INSERT, refused
        AuditEntry(pk=entry.pk, action="forged", object_type="car", object_id="1").save()

    assert AuditEntry.objects.get().action == "car.created"


def test_deleting_a_staff_account_keeps_who_acted_and_unlinks_no_one_elses_entries(staff):
    other, third = UserFactory(is_staff=True), UserFactory(is_staff=True)
    with acting_as(staff):
        car = CarFactory()
    with acting_as(other):
        kept = CarFactory()
    with acting_as(third):
        CarFactory()
    name = staff.username

    with CaptureQueriesContext(connection) as deleting:
        staff.delete()
    get_user_model().objects.filter(pk=third.pk).delete()  # a queryset's deletion too
    read = [
        q["sql"] for q in deleting.captured_queries if q["sql"].startswith("SELECT") and "audit_auditentry" in q["sql"]
    ]
    assert not read  # the entries are unlinked by one UPDATE, never read into memory

    entry = AuditEntry.objects.get(object_id=str(car.pk))
    assert entry.actor is None and entry.actor_name == name
    assert AuditEntry.objects.get(object_id=str(kept.pk)).actor == other
    assert AuditEntry.objects.filter(actor__isnull=True).count() == 2


def test_staff_can_neither_change_nor_delete_entries_in_the_admin(staff_client):
    CarFactory()
    entry = AuditEntry.objects.get()

    assert staff_client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_a_shell_write_is_logged_without_an_actor():
    car = CarFactory()

    with acting_as(AnonymousUser()):
        car_update(car=car, value=Decimal("1"))

    assert AuditEntry.objects.get(action="car.price_changed").actor_name == ""


# Each writes what people type in of the cars given, in bulk, as a shell or a script may.
EDITS_IN_BULK = {
    "update": lambda cars, brand: Car.objects.filter(pk__in=[car.pk for car in cars]).update(model="Renamed"),
    "update with an expression": lambda cars, brand: Car.objects.filter(pk__in=[car.pk for car in cars]).update(
        mileage=F("mileage") + 1000
    ),
    "update of the brand": lambda cars, brand: Car.objects.filter(pk__in=[car.pk for car in cars]).update(brand=brand),
    "update of price and colour": lambda cars, brand: Car.objects.filter(pk__in=[car.pk for car in cars]).update(
        value=F("value") + 1, colour="Teal"
    ),
    "bulk_update": lambda cars, brand: Car.objects.bulk_update(
        [_with(car, colour="Teal", doors=3) for car in cars], ["colour", "doors"]
    ),
}
EDITED = {
    "update": ["model"],
    "update with an expression": ["mileage"],
    "update of the brand": ["brand"],
    "update of price and colour": ["colour"],
    "bulk_update": ["colour", "doors"],
}


def _with(car: Car, **values) -> Car:
    for name, value in values.items():
        setattr(car, name, value)
    return car


@pytest.mark.parametrize("path", EDITS_IN_BULK)
def test_a_bulk_edit_of_cars_is_logged_per_car_changed_with_its_actor(path, staff):
    cars = [CarFactory(mileage=10, colour="Red", doors=5) for _ in range(3)]
    untouched = CarFactory(mileage=10, colour="Red", doors=5)
    brand = BrandFactory()
    logged_before = AuditEntry.objects.count()

    with acting_as(staff):
        EDITS_IN_BULK[path](cars, brand)

    edits = AuditEntry.objects.filter(action="car.edited").order_by("object_id")
    assert [(entry.object_id, entry.detail["fields"], entry.actor_name) for entry in edits] == [
        (str(car.pk), EDITED[path], staff.username) for car in sorted(cars, key=lambda car: str(car.pk))
    ]
    assert actions(untouched) == ["car.created"]
    repriced = AuditEntry.objects.filter(action="car.price_changed").count()
    assert AuditEntry.objects.count() == logged_before + len(cars) + repriced
    assert repriced == (len(cars) if path == "update of price and colour" else 0)


def test_a_bulk_write_that_changes_nothing_logs_nothing(staff):
    cars = [CarFactory(colour="Red") for _ in range(2)]
    logged_before = AuditEntry.objects.count()

    with acting_as(staff):
        Car.objects.filter(pk__in=[car.pk for car in cars]).update(colour="Red")

    assert AuditEntry.objects.count() == logged_before


def test_the_text_the_system_writes_for_a_car_without_one_is_no_edit(run_tasks):
    car = CarFactory(bio="")

    run_tasks()

    assert Car.objects.get(pk=car.pk).bio and actions(car) == ["car.created"]
