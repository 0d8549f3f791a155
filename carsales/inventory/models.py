from decimal import Decimal

from django.db import models


class StockCounts(models.Model):
    """Cars in stock (not sold: available, reserved or withdrawn), their value, and the breakdown by status."""

    cars_count = models.IntegerField(default=0, help_text="Cars in stock: available, reserved or withdrawn; not sold.")
    cars_value = models.DecimalField(
        max_digits=16, decimal_places=2, default=Decimal("0"), help_text="Total asking price of the cars in stock."
    )
    available_count = models.IntegerField(default=0)
    reserved_count = models.IntegerField(default=0)
    sold_count = models.IntegerField(default=0)
    withdrawn_count = models.IntegerField(default=0, help_text="In stock but taken off sale by staff.")

    class Meta:
        abstract = True


class InventoryTotals(StockCounts):
    """The running totals, one row. Every change updates it with F() under its row lock,
    which is what serialises concurrent writers; snapshots are copied from it."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inventory totals"
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="inventory_totals_singleton")]

    def __str__(self) -> str:
        return f"{self.cars_count} cars, {self.cars_value}"


class CarInventory(StockCounts):
    """A snapshot of the stock after one change: how many cars, their total value, when."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # By id, not by time: ids are drawn under the totals row lock, in the order the changes
        # commit, while created_at comes from the clock of whichever server wrote it.
        ordering = ["-id"]
        verbose_name = "inventory snapshot"
        verbose_name_plural = "car inventory"

    def __str__(self) -> str:
        return f"{self.cars_count} - {self.cars_value}"
