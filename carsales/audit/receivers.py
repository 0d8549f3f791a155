"""The audit log observes the cars, the order and sale events, and notes who did what.

Car changes come from the catalogue's model signals, so every path is logged (site, API,
admin, shell), with the actor of the request or service (None from a shell) and, for a price,
the value as stored before the save and as the save left it (`Car.stored`).
"""

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save, pre_save

from carsales.catalog.models import Car, CarPhoto, CarStatus
from carsales.catalog.signals import (
    CarEdit,
    PriceMove,
    car_stock_moved,
    cars_added,
    cars_edited,
    cars_removed,
    cars_repriced,
)
from carsales.core.actor import current_actor
from carsales.core.dispatch import joins_sender
from carsales.events.dumps import changed_on_load
from carsales.orders.models import Order
from carsales.orders.signals import order_cancelled, order_paid, order_placed, order_refunded
from carsales.sales.models import Sale

from .models import AuditEntry
from .services import audit_record, audit_record_cars_created, audit_record_many


# An order's audit entry commits with the order's change or not at all: it joins the sender's
# transaction (no savepoint, its failure fails the action), as the car entries do under post_save.
@joins_sender
def log_order_placed(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="order.placed", target=order, detail={"total_price": str(order.total_price)})


@joins_sender
def log_order_paid(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    paid = {"method": order.payment_method, "reference": order.payment_reference}
    detail = {"total_price": str(order.total_price), **paid}
    audit_record(actor=actor, action="order.paid", target=order, detail=detail)


@joins_sender
def log_order_refunded(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    detail = {"total_price": str(order.total_price), "reference": order.refund_reference}
    audit_record(actor=actor, action="order.refunded", target=order, detail=detail)


@joins_sender
def log_order_cancelled(sender: type, order: Order, actor: Any, **kwargs: Any) -> None:
    audit_record(actor=actor, action="order.cancelled", target=order)


def log_sale_voided(sender: type, instance: Sale, **kwargs: Any) -> None:
    """A sale removed by any path is logged with whoever is acting (None from a shell) and why, as
    the order keeps it (sale_void's reason; blank from a path that asks none)."""
    reason, note, cars = Order.objects.values_list("void_reason", "void_note", "total").get(pk=instance.order_id)
    detail = {"order": instance.order_id, "amount": str(instance.amount), "reason": reason, "note": note, "cars": cars}
    audit_record(actor=current_actor(), action="sale.voided", target=instance, detail=detail)


def refuse_rewriting_an_entry(sender: type[AuditEntry], instance: AuditEntry, raw: bool, **kwargs: Any) -> None:
    """A fixture writes rows past AuditEntry.save(): it may restore entries (a dump loaded again
    writes each as it is), never change one."""
    if not raw:
        return
    if changed_on_load(instance, None, kwargs.get("using")):
        raise TypeError(f"The audit log is append-only: a fixture cannot rewrite entry #{instance.pk}.")


_LOGGED = "audit.logged"  # noted on a car's save or delete once logged: a repeated signal logs nothing


def log_car_saved(sender: type[Car], instance: Car, created: bool, raw: bool, **kwargs: Any) -> None:
    """A fixture brings its own log (a dump holds it): it is history restored, not an action."""
    if raw or Car.stored.noted(instance, _LOGGED):
        return
    Car.stored.note(instance, _LOGGED, True)
    before, after = Car.stored.before(instance), Car.stored.after(instance)
    if before is None:
        audit_record(
            actor=current_actor(),
            action="car.created",
            target=instance,
            detail={"car": str(instance), "stock_code": instance.stock_code, "value": _money(after["value"])},
        )
        return
    if before["value"] != after["value"]:
        audit_record(
            actor=current_actor(),
            action="car.price_changed",
            target=instance,
            detail={"car": str(instance), "old": _money(before["value"]), "new": _money(after["value"])},
            repeatable=True,
        )
    # What staff typed in that the save changed, as the row held it, besides the price (its own
    # entry): not what the save derives (the time, a new photo's thumbnails), nor what it wrote
    # again unchanged. A save that changed none of it is no edit.
    changed = sorted(
        Car._meta.get_field(name).name  # a column's name (brand_id) finds its field too
        for name in Car.stored.typed_in
        if name != "value" and before[name] != after[name]
    )
    if changed:
        audit_record(
            actor=current_actor(),
            action="car.edited",
            target=instance,
            detail={"car": str(instance), "fields": changed},
            repeatable=True,
        )


def log_photo_added(sender: type[CarPhoto], instance: CarPhoto, created: bool, raw: bool, **kwargs: Any) -> None:
    """A photo added to a car's gallery, by any path (a fixture's: history restored, not an action)."""
    if not created or raw or CarPhoto.stored.noted(instance, _LOGGED):
        return
    CarPhoto.stored.note(instance, _LOGGED, True)
    _log_photo(instance.car_id, instance.pk, action="car.photo_added")


def log_photo_deleted(sender: type[CarPhoto], instance: CarPhoto, origin: Any = None, **kwargs: Any) -> None:
    """A photo taken out of a car's gallery, judged by its row as the deletion found it: not one
    going with its car (the car's deletion is logged), nor one whose image is the car's cover
    now (made the cover: the car's edit of its photo is logged)."""
    stored = CarPhoto.stored.before(instance)
    if stored is None or CarPhoto.stored.noted(instance, _LOGGED):
        return
    CarPhoto.stored.note(instance, _LOGGED, True)
    if isinstance(origin, Car) or (isinstance(origin, QuerySet) and origin.model is Car):
        return
    if not Car.objects.filter(pk=stored["car_id"], photo=stored["image"]).exists():
        _log_photo(stored["car_id"], instance.pk, action="car.photo_deleted")


def _log_photo(car_id: int, photo_id: int | None, *, action: str) -> None:
    car = Car.objects.with_brand().filter(pk=car_id).first()
    if car is not None:
        detail = {"car": str(car), "photo": photo_id}
        audit_record(actor=current_actor(), action=action, target=car, detail=detail, repeatable=True)


def log_car_deleted(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    if Car.stored.noted(instance, _LOGGED) or Car.stored.before(instance) is None:
        return
    Car.stored.note(instance, _LOGGED, True)
    audit_record(
        actor=current_actor(),
        action="car.deleted",
        target=instance,
        detail={"car": str(instance), "stock_code": instance.stock_code},
    )


def log_cars_taken_off_or_back_on_sale(
    sender: type[Car], car_ids: list[int], old_status: str, new_status: str, **kwargs: Any
) -> None:
    """Staff withdrawing or relisting cars (the order flow's own moves are logged as order events)."""
    if new_status == CarStatus.WITHDRAWN:
        action = "car.withdrawn"
    elif old_status == CarStatus.WITHDRAWN:
        action = "car.relisted"
    else:
        return
    cars = Car.objects.with_brand().filter(pk__in=car_ids).order_by("pk")
    audit_record_many(
        actor=current_actor(), action=action, entries=[(car, {"car": str(car)}) for car in cars], repeatable=True
    )


def log_cars_added(sender: type[Car], car_ids: list[int], **kwargs: Any) -> None:
    """Cars added many at once (an import): one car.created entry each, as each single save logs."""
    audit_record_cars_created(actor=current_actor(), car_ids=car_ids)


def log_cars_removed(sender: type[Car], cars: list[Car], **kwargs: Any) -> None:
    """A queryset delete of cars, logged per car as a car's own delete is."""
    logged = set(
        AuditEntry.objects.filter(
            action="car.deleted", object_type=Car._meta.label, object_id__in=[str(car.pk) for car in cars]
        ).values_list("object_id", flat=True)
    )  # a car's id used again (a fixture reloaded) was logged deleted once already, as a car's own delete skips
    audit_record_many(
        actor=current_actor(),
        action="car.deleted",
        entries=[(car, {"car": str(car), "stock_code": car.stock_code}) for car in cars if str(car.pk) not in logged],
    )


def log_cars_repriced(sender: type[Car], changes: list[PriceMove], **kwargs: Any) -> None:
    """A bulk write of prices, logged per car as a save's price change is."""
    audit_record_many(
        actor=current_actor(),
        action="car.price_changed",
        entries=[
            (move.car, {"car": str(move.car), "old": _money(move.old), "new": _money(move.new)}) for move in changes
        ],
        repeatable=True,
    )


def log_cars_edited(sender: type[Car], edits: list[CarEdit], **kwargs: Any) -> None:
    """A bulk write of what people type in, logged per car as a save's edit is."""
    audit_record_many(
        actor=current_actor(),
        action="car.edited",
        entries=[(edit.car, {"car": str(edit.car), "fields": edit.fields}) for edit in edits],
        repeatable=True,
    )


def _money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


pre_save.connect(refuse_rewriting_an_entry, sender=AuditEntry, dispatch_uid="audit.refuse_rewriting_an_entry")
order_placed.connect(log_order_placed, dispatch_uid="audit.log_order_placed")
order_paid.connect(log_order_paid, dispatch_uid="audit.log_order_paid")
order_cancelled.connect(log_order_cancelled, dispatch_uid="audit.log_order_cancelled")
order_refunded.connect(log_order_refunded, dispatch_uid="audit.log_order_refunded")
post_delete.connect(log_sale_voided, sender=Sale, dispatch_uid="audit.log_sale_voided")
post_save.connect(log_car_saved, sender=Car, dispatch_uid="audit.log_car_saved")
post_delete.connect(log_car_deleted, sender=Car, dispatch_uid="audit.log_car_deleted")
post_save.connect(log_photo_added, sender=CarPhoto, dispatch_uid="audit.log_photo_added")
post_delete.connect(log_photo_deleted, sender=CarPhoto, dispatch_uid="audit.log_photo_deleted")
cars_added.connect(log_cars_added, sender=Car, dispatch_uid="audit.log_cars_added")
cars_repriced.connect(log_cars_repriced, sender=Car, dispatch_uid="audit.log_cars_repriced")
cars_edited.connect(log_cars_edited, sender=Car, dispatch_uid="audit.log_cars_edited")
cars_removed.connect(log_cars_removed, sender=Car, dispatch_uid="audit.log_cars_removed")
car_stock_moved.connect(log_cars_taken_off_or_back_on_sale, sender=Car, dispatch_uid="audit.log_cars_off_or_on_sale")
