from decimal import Decimal

from django.db import models

from carsales.core.own_writes import OwnWrites, OwnWritesModel, OwnWritesQuerySet

_KEPT_BY_THE_INVENTORY = (
    "The inventory totals and snapshots are kept by the inventory app from the car writes it counts "
    "(inventory_apply_change, reconcile_inventory, the snapshots' retention): figures written, changed or "
    "deleted by hand would show staff a stock the cars table does not hold. Run reconcile_inventory --fix to "
    "correct a drift."
)


class StockCounts(models.Model):
    """Cars in stock (not sold: available, reserved or withdrawn), their value, and the breakdown by status."""

    cars_count = models.IntegerField(default=0, help_text="Cars in stock: available, reserved or withdrawn; not sold.")
    cars_value = models.DecimalField(
        max_digits=20, decimal_places=2, default=Decimal("0"), help_text="Total asking price of the cars in stock."
    )
    available_count = models.IntegerField(default=0)
    reserved_count = models.IntegerField(default=0)
    sold_count = models.IntegerField(default=0)
    withdrawn_count = models.IntegerField(default=0, help_text="In stock but taken off sale by staff.")

    class Meta:
        abstract = True


class InventoryTotals(OwnWritesModel, StockCounts):
    """The running totals, one row. Every change updates it with F() under its row lock,
    which is what serialises concurrent writers; snapshots are copied from it. Written only by
    the inventory app's services (OwnWrites: on every ORM path)."""

    own_writes = OwnWrites("inventory_written", refusal=_KEPT_BY_THE_INVENTORY)

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnWritesQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        verbose_name_plural = "inventory totals"
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="inventory_totals_singleton")]

    def __str__(self) -> str:
        return f"{self.cars_count} cars, {self.cars_value}"


class CarInventory(OwnWritesModel, StockCounts):
    """A snapshot of the stock after one change: how many cars, their total value, when. Written
    by the totals row's trigger alone, as the totals move; deleted by the retention's pruning."""

    own_writes = InventoryTotals.own_writes
    INSERT_ONLY = True

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = OwnWritesQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        # By id, not by time: ids are drawn under the totals row lock, in the order the changes
        # commit, while created_at comes from the clock of whichever server wrote it.
        ordering = ["-id"]
        verbose_name = "inventory snapshot"
        verbose_name_plural = "car inventory"

    def __str__(self) -> str:
        return f"{self.cars_count} - {self.cars_value}"
