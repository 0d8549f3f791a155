"""The inventory follows the catalogue's cars: their model signals for creation, edits, fixture
loads and deletion, and the catalogue's car_stock_moved for status changes (which no save writes).

Each figure moves by the difference between the car's row as stored before the write and as the
write left it, both from `Car.stored` (read once, locked, in the write's transaction): never from
the instance the caller holds, which may predate a checkout or a payment. Each receiver runs in
the transaction of the write it observes, so the snapshot commits or rolls back with the car.
The catalogue never imports this app.
"""

from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.db.models.signals import post_delete, post_save, pre_save

from carsales.catalog.models import Car, CarStatus
from carsales.catalog.signals import PriceMove, car_stock_moved, cars_added, cars_removed, cars_repriced
from carsales.core.money import format_money
from carsales.events.dumps import changed_on_load
from carsales.orders.signals import orders_loaded

from .models import CarInventory
from .services import Stock, inventory_apply_change, inventory_reconcile

# Noted on the save or delete once its change is counted, so a second delivery of the same
# signal for the same write counts nothing.
_COUNTED = "inventory.counted"


def _stock(row: dict[str, Any] | None) -> Stock:
    return Stock.of_cars(count=1, value=row["value"], status=row["status"]) if row else Stock()


def car_saved_update_inventory(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    """Move the figures by what this save (a new car, an edit, a fixture row) changed."""
    if Car.stored.noted(instance, _COUNTED):
        return
    Car.stored.note(instance, _COUNTED, True)
    inventory_apply_change(change=_stock(Car.stored.after(instance)) - _stock(Car.stored.before(instance)))


def cars_moved_update_inventory(
    sender: type[Car], car_ids: list[int], old_status: str, new_status: str, value: Decimal, **kwargs: Any
) -> None:
    """Move the figures for cars a stock transition moved, by the value their locked rows hold."""
    count = len(car_ids)
    inventory_apply_change(
        change=Stock.of_cars(count=count, value=value, status=new_status)
        - Stock.of_cars(count=count, value=value, status=old_status)
    )


def cars_added_update_inventory(sender: type[Car], car_ids: list[int], **kwargs: Any) -> None:
    """Count cars added many at once (an import): one aggregate and one snapshot per batch."""
    if not car_ids:
        return
    totals = Car.objects.filter(pk__in=car_ids).aggregate(total=Sum("value"))
    inventory_apply_change(change=Stock.of_cars(count=len(car_ids), value=totals["total"], status=CarStatus.AVAILABLE))


def cars_repriced_update_inventory(sender: type[Car], changes: list[PriceMove], **kwargs: Any) -> None:
    """Move the value by what a bulk write of prices changed: one aggregate and one snapshot per write."""
    change = Stock()
    for move in changes:
        change += Stock.of_cars(count=1, value=move.new, status=move.status)
        change -= Stock.of_cars(count=1, value=move.old, status=move.status)
    if change:
        inventory_apply_change(change=change)


def cars_removed_update_inventory(sender: type[Car], cars: list[Car], **kwargs: Any) -> None:
    """Take out cars a queryset delete removed, as stored: one aggregate and one snapshot per delete."""
    change = Stock()
    for car in cars:
        change -= Stock.of_cars(count=1, value=car.value, status=car.status)
    inventory_apply_change(change=change)


def car_deleted_update_inventory(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    """Take a deleted car out, as it was stored; a car another writer deleted first counts nothing."""
    if Car.stored.noted(instance, _COUNTED):
        return
    Car.stored.note(instance, _COUNTED, True)
    inventory_apply_change(change=Stock() - _stock(Car.stored.before(instance)))


def refuse_rewriting_a_snapshot(sender: type[CarInventory], instance: CarInventory, raw: bool, **kwargs: Any) -> None:
    """A fixture writes rows past the models' guard: it may restore snapshots (a dump loaded again
    writes each as it is), never change one stored. The load check compares the latest only: an
    older one rewritten would change the stock's history on the staff page, unseen."""
    if raw and changed_on_load(instance, None, kwargs.get("using")):
        raise TypeError(
            f"The inventory's snapshots are kept as taken: a fixture cannot rewrite snapshot #{instance.pk}."
        )


def check_inventory_of_loaded_rows(sender: Any, **kwargs: Any) -> list[str]:
    """A fixture's cars are counted as they load, but its inventory rows are written as given: the
    totals must still be the cars', and the latest snapshot the totals."""
    drift = inventory_reconcile(fix=False)
    problems = []
    if drift.totals_drifted:
        recorded, actual = drift.recorded, drift.actual
        problems.append(
            f"the inventory's totals ({recorded.cars_count} cars in stock worth {format_money(recorded.cars_value)}) "
            f"are not the cars' ({actual.cars_count} worth {format_money(actual.cars_value)}): load the totals "
            "with every car they count, or leave them out (totals that had drifted before the load: "
            "manage.py reconcile_inventory --fix first)"
        )
    if drift.snapshot_drifted:
        shown = drift.shown
        problems.append(
            f"the latest inventory snapshot ({shown.cars_count} cars worth {format_money(shown.cars_value)}) "
            "is not the inventory's totals"
        )
    return problems


post_save.connect(car_saved_update_inventory, sender=Car, dispatch_uid="inventory.car_saved_update_inventory")
car_stock_moved.connect(cars_moved_update_inventory, sender=Car, dispatch_uid="inventory.cars_moved_update_inventory")
cars_repriced.connect(
    cars_repriced_update_inventory, sender=Car, dispatch_uid="inventory.cars_repriced_update_inventory"
)
cars_added.connect(cars_added_update_inventory, sender=Car, dispatch_uid="inventory.cars_added_update_inventory")
cars_removed.connect(cars_removed_update_inventory, sender=Car, dispatch_uid="inventory.cars_removed_update_inventory")
post_delete.connect(car_deleted_update_inventory, sender=Car, dispatch_uid="inventory.car_deleted_update_inventory")
orders_loaded.connect(check_inventory_of_loaded_rows, dispatch_uid="inventory.check_inventory_of_loaded_rows")
pre_save.connect(refuse_rewriting_a_snapshot, sender=CarInventory, dispatch_uid="inventory.refuse_rewriting_a_snapshot")
