"""Every ORM write path of every guarded model (Car, Order, OrderItem, Sale), each as a shell, a
stale page or a fixture (loaddata) would take it: the write keeps every invariant, or it is refused with a message that
names the service to call. Each cell states which of the two it must be.

The invariants (carsales.core.tests.invariants) are read from the stored rows after each write:
inventory equal to a recount, each car's status what its live order line says, order totals
equal to their lines, a sale for every paid active order and no other.
"""

import json
import tempfile
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core import serializers
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.db.models import BooleanField, DateTimeField, DecimalField, F, ProtectedError, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from carsales.catalog.models import Car, CarStatus, plate_as_stored
from carsales.catalog.services import CarInUse, cars_add_many
from carsales.conftest import CarFactory, UserFactory, order_for
from carsales.core.state import StateGuardedModel
from carsales.core.tests.invariants import assert_store_is_true
from carsales.orders.models import Order, OrderItem, OrderStatus
from carsales.orders.services import OrderStateError, order_cancel, order_mark_paid, order_record_refund
from carsales.sales.models import Sale
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db

KEPT, REFUSED = "kept", "refused"
DECLARED_CONSTRAINTS = {constraint.name for model in apps.get_models() for constraint in model._meta.constraints}
REFUSALS = (TypeError, OrderStateError, ProtectedError, CarInUse, DatabaseError)


def _world() -> dict[str, Any]:
    available = CarFactory(value=100)
    placed = order_for(CarFactory(value=200))
    paid = order_mark_paid(order=order_for(CarFactory(value=300)), actor=AnonymousUser())
    return {"available": available, "placed": placed, "paid": paid, "sale": Sale.objects.get(order=paid)}


def _stale_car_saved_after_its_checkout(w: dict[str, Any]) -> None:
    stale = Car.objects.get(pk=w["available"].pk)
    order_for(w["available"])  # a buyer checks it out after the edit page was loaded
    stale.value = Decimal("150")
    stale.save()
    assert Car.objects.get(pk=stale.pk).status == CarStatus.RESERVED


def _placed_order_moved_to_another_buyer(w: dict[str, Any]) -> None:
    order = Order.objects.get(pk=w["placed"].pk)
    order.buyer = UserFactory().buyer  # its reservation would count against nobody's hold limit
    order.save()


def _sold_car_renamed_from_a_stale_copy(w: dict[str, Any]) -> None:
    car = w["placed"].cars.get()
    stale = Car.objects.get(pk=car.pk)
    order_mark_paid(order=w["placed"], actor=AnonymousUser())
    stale.model = "Renamed"
    stale.save()


def _car_forced_onto_a_stored_pk(w: dict[str, Any]) -> None:
    car = w["placed"].cars.get()
    Car(pk=car.pk, brand=car.brand, model="X", factory_year=2020, model_year=2020, plate="FORCED1").save(
        force_update=True
    )


def _stale_order_saved_after_payment(w: dict[str, Any]) -> None:
    stale = Order.objects.get(pk=w["placed"].pk)
    order_mark_paid(order=w["placed"], actor=AnonymousUser())
    stale.save()
    assert Order.objects.get(pk=stale.pk).status == OrderStatus.PAID


def _order_forced_onto_a_stored_pk(w: dict[str, Any]) -> None:
    Order(pk=w["placed"].pk, buyer=w["placed"].buyer, status=OrderStatus.CANCELLED).save(force_update=True)


def _stale_line_deleted_after_its_car_was_reordered(w: dict[str, Any]) -> None:
    order = w["placed"]
    stale = order.items.get()
    order_cancel(order=order, actor=None)
    other = order_for(stale.car)
    stale.delete()
    assert other.items.get().holds_car
    order_mark_paid(order=other, actor=AnonymousUser())


def _save_base_of_the_stored_row(model: type, **typed: Any) -> Callable[[dict[str, Any]], None]:
    """save_base() skips save(): with `typed` written onto the stored row, or as it is."""

    def write(w: dict[str, Any]) -> None:
        row = _stored_row(model, w)
        for name, value in typed.items():
            setattr(row, name, value)
        row.save_base()

    return write


def _deserialized_outside_loaddata(model: type, **fields: Any) -> Callable[[dict[str, Any]], None]:
    """A new row from a dump, saved by the deserializer (raw) in a shell: no loaddata checks it."""

    def write(w: dict[str, Any]) -> None:
        (dumped,) = json.loads(serializers.serialize("json", [_stored_row(model, w)]))
        dumped["pk"] = None
        dumped["fields"].update(fields)
        for row in serializers.deserialize("json", json.dumps([dumped])):
            row.save()

    return write


def _car_saved_with(**typed: Any) -> Callable[[dict[str, Any]], None]:
    def write(w: dict[str, Any]) -> None:
        car = Car.objects.get(pk=w["available"].pk)
        for name, value in typed.items():
            setattr(car, name, value)
        car.save()
        assert Car.objects.get(pk=car.pk).plate == plate_as_stored(car.plate)

    return write


def _voided(w: dict[str, Any], reason: str = "") -> Order:
    sale_void(sale=w["sale"], actor=None, reason=reason)
    return Order.objects.get(pk=w["paid"].pk)


def _refunded(w: dict[str, Any]) -> Order:
    return order_record_refund(order=_voided(w), actor=AnonymousUser())


def _cancelled_order_deleted_after_reorder(w: dict[str, Any]) -> None:
    """Its line, deleted with it, is judged as stored (holding nothing): the car stays reserved
    for the order holding it now."""
    order = w["placed"]
    stale = Order.objects.get(pk=order.pk)
    line = order.items.get()
    order_cancel(order=order, actor=None)
    other = order_for(line.car)
    stale.delete()
    assert Order.objects.get(pk=other.pk).items.get().holds_car
    assert Car.objects.get(pk=line.car_id).status == CarStatus.RESERVED


def _stale_sale_saved_after_void(w: dict[str, Any]) -> None:
    stale = Sale.objects.get(pk=w["sale"].pk)
    sale_void(sale=w["sale"], actor=None)
    stale.save()


def _bulk_update(model: type, field: str, value: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    def write(w: dict[str, Any]) -> None:
        rows = list(model._default_manager.all())
        for row in rows:
            setattr(row, field, value(row))
        model._default_manager.bulk_update(rows, [field])

    return write


def _update(target: type, **changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda w: target._default_manager.all().update(**changes)


def _create(model: type, make: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    return lambda w: model._default_manager.create(**make(w))


def _bulk_create(model: type, make: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    return lambda w: model._default_manager.bulk_create([model(**make(w))])


def _new_car(**extra: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda w: {
        "brand": w["available"].brand,
        "model": "New",
        "factory_year": 2020,
        "model_year": 2020,
        "plate": "NEW123",
        **extra,
    }


def _line_of(order_key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda w: {"order": w[order_key], "car": w["available"], "price": Decimal("1")}


def _delete_each(model: type) -> Callable[[dict[str, Any]], None]:
    def write(w: dict[str, Any]) -> None:
        for row in list(model._default_manager.all()):
            with transaction.atomic():
                row.delete()

    return write


# Fixtures: loaddata writes past save(). A stored row loaded again as dumped is kept; with any state
# field changed (core.receivers.state_guarded_save), refused.
GUARDED = {Car: "available", Order: "placed", OrderItem: "placed", Sale: "sale"}


def _stored_row(model: type, w: dict[str, Any]) -> Any:
    subject = w[GUARDED[model]]
    return subject.items.get() if model is OrderItem else model._default_manager.get(pk=subject.pk)


def _other(field: Any, value: Any) -> Any:
    """A value of `field` other than `value`, as a fixture states it."""
    if field.is_relation:
        return field.related_model._default_manager.exclude(pk=value).order_by("pk").values_list("pk", flat=True)[0]
    if field.choices:
        return next(choice for choice, _label in field.choices if choice != value)
    if isinstance(field, BooleanField):
        return not value
    if isinstance(field, DateTimeField):
        return "2020-01-01T00:00:00Z" if value is None else (value + timedelta(days=1)).isoformat()
    if isinstance(field, DecimalField):
        return str((value or Decimal(0)) + 1)
    if isinstance(value, str):
        return f"OTHER{value}"[: field.max_length]
    return (value or 0) + 1


def _loaded(rows: list[dict[str, Any]]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fixture:
        json.dump(rows, fixture)
        fixture.flush()
        call_command("loaddata", fixture.name, verbosity=0)


def _loaded_with(model: type, name: str | None, value: Any = None) -> Callable[[dict[str, Any]], None]:
    """Load the model's stored row as dumped, with `name` (a state or fixed field) changed (to
    `value`, else to another value), or as it is."""

    def write(w: dict[str, Any]) -> None:
        row = _stored_row(model, w)
        (dumped,) = json.loads(serializers.serialize("json", [row]))
        if name is None:
            _loaded([dumped])
            return
        field = model._meta.get_field(name)
        dumped["fields"][name] = _other(field, getattr(row, field.attname)) if value is None else value
        if name not in model.STATE_FIELDS + model.FIXED_FIELDS:  # refused by a constraint
            _loaded([dumped])
            return
        try:
            _loaded([dumped])
        except TypeError as refusal:  # refused by the state guard, naming the row and the field
            assert f"{model.__name__} #{row.pk}, loaded over the stored row" in str(refusal) and name in str(refusal)
            raise

    return write


def _order_cancelled_and_its_car_freed_by_a_fixture(w: dict[str, Any]) -> None:
    order = Order.objects.get(pk=w["placed"].pk)
    line = order.items.get()
    rows = json.loads(serializers.serialize("json", [line.car, order, line]))
    rows[0]["fields"]["status"] = "available"
    rows[1]["fields"].update(status="cancelled", cancelled_at="2026-01-01T00:00:00Z", cancellation_reason="buyer")
    rows[2]["fields"]["holds_car"] = False
    _loaded(rows)


CELLS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    # Car
    "car: stale instance saved after its checkout": (_stale_car_saved_after_its_checkout, KEPT),
    "car: sold car renamed from a stale instance": (_sold_car_renamed_from_a_stale_copy, KEPT),
    "car: save(force_update=True) of an instance made by hand": (_car_forced_onto_a_stored_pk, REFUSED),
    "car: create() in a state other than available": (_create(Car, _new_car(status=CarStatus.SOLD)), REFUSED),
    "car: create() available": (_create(Car, _new_car()), KEPT),
    "car: bulk_create()": (_bulk_create(Car, _new_car()), REFUSED),
    "car: bulk_update() of the status": (_bulk_update(Car, "status", lambda c: CarStatus.AVAILABLE), REFUSED),
    "car: bulk_update() of the value": (_bulk_update(Car, "value", lambda c: Decimal("1")), KEPT),
    "car: bulk_update() of the model": (_bulk_update(Car, "model", lambda c: "Bulk"), KEPT),
    "car: update() of the status": (_update(Car, status=CarStatus.AVAILABLE), REFUSED),
    "car: update() of the value": (_update(Car, value=Decimal("1")), KEPT),
    "car: update() of the value by an expression": (_update(Car, value=F("value") * 2 + 1), KEPT),
    "car: update() of the value and the model": (_update(Car, value=None, model="Bulk"), KEPT),
    "car: update() of the model": (_update(Car, model="Bulk"), KEPT),
    "car: save() with the stock code changed": (_car_saved_with(stock_code="FORGED0001"), REFUSED),
    "car: save() with the stock code blanked": (_car_saved_with(stock_code=""), REFUSED),
    "car: save() with a plate in lower case": (_car_saved_with(plate=" abc\t 1 "), KEPT),  # stored ABC 1
    "car: save() with a plate no plate has": (_car_saved_with(plate="AB_1"), REFUSED),
    "car: create() with a plate in lower case": (_create(Car, _new_car(plate="new123")), KEPT),
    "car: cars_add_many() with a plate in lower case": (
        lambda w: cars_add_many(cars=[Car(**_new_car(plate=" new  123")(w))]),
        KEPT,
    ),
    "car: update() of the plate in lower case": (
        lambda w: Car.objects.filter(pk=w["available"].pk).update(plate="abc1"),
        KEPT,
    ),
    "car: update() of the plate by an expression in lower case": (_update(Car, plate=Lower("plate")), REFUSED),
    "car: update() of a plate ending in a newline, past the queryset": (
        lambda w: QuerySet.update(Car.objects.filter(pk=w["available"].pk), plate="AB1\n"),
        REFUSED,
    ),
    # Kept: the VIN's field stores every value as vin_normalise writes it, a queryset's too.
    "car: update() of a VIN ending in a newline, past the queryset": (
        lambda w: QuerySet.update(Car.objects.filter(pk=w["available"].pk), vin="1HGCM82633A004352\n"),
        KEPT,
    ),
    "car: update() of a plate with a tab, past the queryset": (
        lambda w: QuerySet.update(Car.objects.filter(pk=w["available"].pk), plate="AB1\t"),
        REFUSED,
    ),
    "car: bulk_update() of the plate in lower case": (_bulk_update(Car, "plate", lambda c: c.plate.lower()), KEPT),
    "car: save_base() of a status typed in": (_save_base_of_the_stored_row(Car, status=CarStatus.SOLD), REFUSED),
    "car: save_base() of a stale copy": (_save_base_of_the_stored_row(Car), REFUSED),
    "car: a sold car deserialized outside loaddata": (
        _deserialized_outside_loaddata(Car, status="sold", plate="DESER1", stock_code="DESER00001"),
        REFUSED,
    ),
    "car: an available car deserialized outside loaddata": (
        _deserialized_outside_loaddata(Car, plate="DESER1", stock_code="DESER00001"),
        KEPT,
    ),
    "car: delete() of an ordered car": (lambda w: w["placed"].cars.get().delete(), REFUSED),
    "car: delete() of a car never ordered": (lambda w: w["available"].delete(), KEPT),
    "car: queryset delete() of every car": (lambda w: Car.objects.all().delete(), REFUSED),
    "car: queryset delete() of the cars never ordered": (
        lambda w: Car.objects.filter(order_items__isnull=True).delete(),
        KEPT,
    ),
    # Order
    "order: stale instance saved after its payment": (_stale_order_saved_after_payment, KEPT),
    "order: save(force_update=True) of an instance made by hand": (_order_forced_onto_a_stored_pk, REFUSED),
    "order: create()": (_create(Order, lambda w: {"buyer": UserFactory().buyer}), REFUSED),
    "order: bulk_create()": (_bulk_create(Order, lambda w: {"buyer": UserFactory().buyer}), REFUSED),
    "order: bulk_update() of the status": (_bulk_update(Order, "status", lambda o: OrderStatus.PAID), REFUSED),
    "order: update() of the totals": (_update(Order, total=0), REFUSED),
    "order: update() of the buyer": (lambda w: Order.objects.update(buyer=UserFactory().buyer), REFUSED),
    "order: save() moved to another buyer": (_placed_order_moved_to_another_buyer, REFUSED),
    "order: delete() of a placed order": (lambda w: w["placed"].delete(), REFUSED),
    "order: delete() of a cancelled order": (lambda w: order_cancel(order=w["placed"], actor=None).delete(), KEPT),
    "order: delete() of a voided order owing a refund": (lambda w: _voided(w).delete(), REFUSED),
    "order: delete() of a voided order refunded, its lines with it": (lambda w: _refunded(w).delete(), KEPT),
    "order: delete() of a voided order owing nothing": (lambda w: _voided(w, reason="payment").delete(), KEPT),
    "order: update() of the refund": (_update(Order, refunded_at=timezone.now()), REFUSED),
    "order: delete() of a cancelled order whose car was ordered again": (_cancelled_order_deleted_after_reorder, KEPT),
    "order: save_base() of the stored row": (_save_base_of_the_stored_row(Order), REFUSED),
    "order: deserialized outside loaddata": (_deserialized_outside_loaddata(Order), REFUSED),
    "order: queryset delete() of every order": (lambda w: Order.objects.all().delete(), REFUSED),
    "order: cars.add() of an available car": (lambda w: w["placed"].cars.add(w["available"]), REFUSED),
    "order: cars.remove() of its car": (lambda w: w["placed"].cars.remove(w["placed"].cars.get()), KEPT),
    "order: cars.clear() of a paid order": (lambda w: w["paid"].cars.clear(), REFUSED),
    "order: car.orders.add() from the car's side": (lambda w: w["available"].orders.add(w["placed"]), REFUSED),
    "order: car.orders.clear() from the car's side": (lambda w: w["placed"].cars.get().orders.clear(), KEPT),
    # OrderItem
    # Refused: a cancelled order's lines are its record; before, it must not free the car ordered again.
    "line: stale line deleted after its car was ordered again": (
        _stale_line_deleted_after_its_car_was_reordered,
        REFUSED,
    ),
    "line: create()": (_create(OrderItem, _line_of("placed")), REFUSED),
    "line: bulk_create()": (_bulk_create(OrderItem, _line_of("placed")), REFUSED),
    "line: bulk_update() of the price": (_bulk_update(OrderItem, "price", lambda line: Decimal("1")), REFUSED),
    "line: update() of the hold": (_update(OrderItem, holds_car=False), REFUSED),
    "line: delete() of each line": (_delete_each(OrderItem), REFUSED),  # the paid order's line is frozen
    "line: queryset delete() of a placed order's lines": (lambda w: w["placed"].items.all().delete(), KEPT),
    "line: queryset delete() of a voided order's lines": (lambda w: _voided(w).items.all().delete(), REFUSED),
    "line: delete() of a cancelled order's line": (
        lambda w: order_cancel(order=w["placed"], actor=None).items.get().delete(),
        REFUSED,
    ),
    "line: save_base() of the stored row": (_save_base_of_the_stored_row(OrderItem), REFUSED),
    # Sale
    "sale: stale instance saved after its void": (_stale_sale_saved_after_void, REFUSED),
    "sale: create()": (_create(Sale, lambda w: {"order": w["placed"], "amount": 1}), REFUSED),
    "sale: bulk_create()": (_bulk_create(Sale, lambda w: {"order": w["placed"], "amount": 1}), REFUSED),
    "sale: update() of the amount": (_update(Sale, amount=1), REFUSED),
    "sale: delete() voids it": (lambda w: w["sale"].delete(), KEPT),
    "sale: save_base() of the stored row": (_save_base_of_the_stored_row(Sale), REFUSED),
    "sale: queryset delete() voids every sale": (lambda w: Sale.objects.all().delete(), KEPT),
    # Fixtures, of every guarded model
    **{
        f"{model.__name__}: loaddata of the stored row as dumped": (_loaded_with(model, None), KEPT)
        for model in GUARDED
    },
    **{
        f"{model.__name__}: loaddata changing {name}": (_loaded_with(model, name), REFUSED)
        for model in GUARDED
        for name in model.STATE_FIELDS + model.FIXED_FIELDS
    },
    "Car: loaddata of a plate in lower case": (_loaded_with(Car, "plate", "other1"), REFUSED),
    "Order: loaddata cancelling an order and freeing its car": (
        _order_cancelled_and_its_car_freed_by_a_fixture,
        REFUSED,
    ),
}


def test_the_fixture_cells_cover_every_state_guarded_model() -> None:
    assert {m for m in apps.get_models() if issubclass(m, StateGuardedModel)} == set(GUARDED)


@pytest.mark.parametrize(("cell", "expected"), [(cell, expected) for cell, (_, expected) in CELLS.items()])
def test_every_orm_write_path_keeps_the_invariants_or_is_refused_with_a_reason(cell: str, expected: str) -> None:
    world = _world()
    write, _ = CELLS[cell]

    refusal: Exception | None = None
    try:
        with transaction.atomic():
            write(world)
    except REFUSALS as error:
        refusal = error

    assert (REFUSED if refusal else KEPT) == expected, f"{cell}: {refusal!r}"
    if refusal is not None:
        # Refused by carsales with a reason, not by a database error it did not foresee: a
        # constraint declared on a model is foreseen, its name says why.
        foreseen = (
            isinstance(refusal, ProtectedError)
            or "did not affect any rows" in str(refusal)
            or any(constraint in str(refusal) for constraint in DECLARED_CONSTRAINTS)
        )
        assert not isinstance(refusal, DatabaseError) or foreseen, repr(refusal)
        assert str(refusal), f"{cell}: refused without a message"
    assert_store_is_true(cell)
