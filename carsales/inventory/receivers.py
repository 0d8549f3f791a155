"""The inventory follows the catalogue's cars: their model signals for creation, value edits
and deletion, and the catalogue's car_stock_moved for status changes (which no save writes).

Each receiver runs inside the transaction of the write it observes (Car.save() always opens
one), so the snapshot commits or rolls back with the car. Every path that changes a car —
services, the order flow, admin, shell — goes through these signals; bulk updates of value
and status are refused by the Car queryset. The catalogue never imports this app.
"""

from typing import Any

from django.db.models import Sum
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from carsales.catalog.models import Car
from carsales.catalog.signals import car_stock_moved

from .services import Stock, inventory_apply_change

# What the stock looked like for a car before this write: its figures, or None when no row.
_BEFORE = "_inventory_before"


def _stored_stock(car: Car) -> Stock | None:
    """The car's contribution to the stock as the database has it now, with the row locked.

    The lock makes a concurrent write of the same car wait, so each delta is taken against
    what the other writer committed. Returns None when the row is gone.
    """
    stored = Car.objects.select_for_update().filter(pk=car.pk).values("value", "status").first()
    return Stock.of_cars(count=1, **stored) if stored else None


def car_stock_before_save(
    sender: type[Car], instance: Car, raw: bool, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and "value" not in update_fields:
        setattr(instance, _BEFORE, None)  # no figure can move (a save never writes status): skip the read
        return
    setattr(instance, _BEFORE, _stored_stock(instance))


def car_saved_update_inventory(sender: type[Car], instance: Car, created: bool, raw: bool, **kwargs: Any) -> None:
    """Count a new car in, or move the figures by what changed in an edited car."""
    if raw:
        return
    after = Stock.of_cars(count=1, value=instance.value, status=instance.status)
    if created:
        inventory_apply_change(change=after)
        return
    before = instance.__dict__.pop(_BEFORE, None)
    if before is not None:
        inventory_apply_change(change=after - before)


def cars_moved_update_inventory(
    sender: type[Car], car_ids: list[int], old_status: str, new_status: str, **kwargs: Any
) -> None:
    """Move the figures for cars a stock transition moved: one aggregate, whatever their number."""
    value = Car.objects.filter(pk__in=car_ids).aggregate(total=Sum("value"))["total"]
    count = len(car_ids)
    inventory_apply_change(
        change=Stock.of_cars(count=count, value=value, status=new_status)
        - Stock.of_cars(count=count, value=value, status=old_status)
    )


def car_stock_before_delete(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    setattr(instance, _BEFORE, _stored_stock(instance))


def car_deleted_update_inventory(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    """Take a deleted car out; a car another writer deleted first is not taken out twice."""
    # Consumed, so a repeated delivery for the same instance finds nothing to take out.
    before = instance.__dict__.pop(_BEFORE, None)
    if before is not None:
        inventory_apply_change(change=Stock() - before)


pre_save.connect(car_stock_before_save, sender=Car, dispatch_uid="inventory.car_stock_before_save")
post_save.connect(car_saved_update_inventory, sender=Car, dispatch_uid="inventory.car_saved_update_inventory")
car_stock_moved.connect(cars_moved_update_inventory, sender=Car, dispatch_uid="inventory.cars_moved_update_inventory")
pre_delete.connect(car_stock_before_delete, sender=Car, dispatch_uid="inventory.car_stock_before_delete")
post_delete.connect(car_deleted_update_inventory, sender=Car, dispatch_uid="inventory.car_deleted_update_inventory")
