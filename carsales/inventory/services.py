"""Keeps the inventory: running totals and one snapshot per change, in O(1) per change."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Max, Min, Sum
from django.db.models.functions import Coalesce

from carsales.catalog.models import Car
from carsales.core.db import update_seeding_row

from .models import CarInventory, InventoryTotals

ZERO = Decimal("0")


@transaction.atomic
def inventory_apply_change(*, count_delta: int, value_delta: Decimal) -> CarInventory:
    """Add a change to the running totals and record the resulting snapshot.

    The UPDATE takes the totals row lock, so concurrent writers queue here and each snapshot
    reflects every change committed before it. Costs three queries whatever the stock size.
    """
    update_seeding_row(
        InventoryTotals,
        lookup={"singleton": True},
        changes={"cars_count": F("cars_count") + count_delta, "cars_value": F("cars_value") + value_delta},
    )
    totals = InventoryTotals.objects.get(singleton=True)
    return CarInventory.objects.create(cars_count=totals.cars_count, cars_value=totals.cars_value)


@dataclass(frozen=True)
class Drift:
    recorded_count: int
    recorded_value: Decimal
    actual_count: int
    actual_value: Decimal

    @property
    def exists(self) -> bool:
        return (self.recorded_count, self.recorded_value) != (self.actual_count, self.actual_value)


RECOUNT_CHUNK = 5000


def _identity(chunks: Iterable[int]) -> Iterable[int]:
    return chunks


@transaction.atomic
def inventory_reconcile(*, fix: bool, progress: Callable[[Iterable[int]], Iterable[int]] = _identity) -> Drift:
    """Recount the cars table and compare it with the running totals.

    The totals row stays locked meanwhile, so no car change lands between count and compare.
    The database sums the table in chunks of ids, each chunk passing through `progress` (a
    progress bar in the command). With `fix`, a drift is corrected and recorded as a snapshot.
    """
    InventoryTotals.objects.get_or_create(singleton=True)
    totals = InventoryTotals.objects.select_for_update().get(singleton=True)
    bounds = Car.objects.aggregate(low=Min("id"), high=Max("id"))
    actual_count, actual_value = 0, ZERO
    if bounds["low"] is not None:
        starts = range(bounds["low"], bounds["high"] + 1, RECOUNT_CHUNK)
        for start in progress(starts):
            chunk = Car.objects.filter(id__gte=start, id__lt=start + RECOUNT_CHUNK).aggregate(
                count=Count("id"), value=Coalesce(Sum("value"), ZERO)
            )
            actual_count += chunk["count"]
            actual_value += chunk["value"]
    drift = Drift(totals.cars_count, totals.cars_value, actual_count, actual_value)
    if fix and drift.exists:
        InventoryTotals.objects.filter(pk=totals.pk).update(
            cars_count=drift.actual_count, cars_value=drift.actual_value
        )
        CarInventory.objects.create(cars_count=drift.actual_count, cars_value=drift.actual_value)
    return drift
