"""The inventory follows the catalogue's cars through their model signals.

Each receiver runs inside the transaction of the write it observes, so the snapshot commits
or rolls back with the car. The catalogue never imports this app.
"""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from carsales.catalog.models import Car

from .services import ZERO, inventory_apply_change

_MISSING = object()


def _stored_value(car: Car) -> Any:
    """The car's value as the database has it now, locking the row when a transaction allows.

    The lock makes a concurrent edit of the same car wait, so each delta is taken against the
    value the other writer committed. Returns _MISSING when the row is gone.
    """
    rows = Car.objects.filter(pk=car.pk)
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update()
    found = rows.values_list("value", flat=True)
    return found[0] if found else _MISSING


def car_value_before_save(sender: type[Car], instance: Car, raw: bool, **kwargs: Any) -> None:
    if raw or instance._state.adding or instance.pk is None:
        return
    instance._inventory_value_before = _stored_value(instance)  # type: ignore[attr-defined]


def car_saved_update_inventory(sender: type[Car], instance: Car, created: bool, raw: bool, **kwargs: Any) -> None:
    """Count a new car in, or move the total by the change of an edited car's value."""
    if raw:
        return
    if created:
        inventory_apply_change(count_delta=1, value_delta=instance.value or ZERO)
        return
    before: Any = getattr(instance, "_inventory_value_before", _MISSING)
    if before is _MISSING:
        # Saved without our pre_save having seen a stored row: counted as new elsewhere.
        return
    delta: Decimal = (instance.value or ZERO) - (before or ZERO)
    if delta:
        inventory_apply_change(count_delta=0, value_delta=delta)


def car_value_before_delete(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    instance._inventory_value_before = _stored_value(instance)  # type: ignore[attr-defined]


def car_deleted_update_inventory(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    """Take a deleted car out; a car another writer deleted first is not taken out twice."""
    # Consumed, so a repeated delivery for the same instance finds nothing to take out.
    before = instance.__dict__.pop("_inventory_value_before", _MISSING)
    if before is _MISSING:
        return
    inventory_apply_change(count_delta=-1, value_delta=-(before or ZERO))


pre_save.connect(car_value_before_save, sender=Car, dispatch_uid="inventory.car_value_before_save")
post_save.connect(car_saved_update_inventory, sender=Car, dispatch_uid="inventory.car_saved_update_inventory")
pre_delete.connect(car_value_before_delete, sender=Car, dispatch_uid="inventory.car_value_before_delete")
post_delete.connect(car_deleted_update_inventory, sender=Car, dispatch_uid="inventory.car_deleted_update_inventory")
