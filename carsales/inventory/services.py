"""Keeps the inventory: running totals and one snapshot per change, in O(1) per change.

"In stock" means not sold: available, reserved or withdrawn from sale. Sold cars are counted
apart, so a sale takes a car out of stock and a voided sale puts it back.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, DecimalField, Max, Min, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from carsales.catalog.models import Car, CarStatus
from carsales.core.db import insert_unless_duplicate, write_soon
from carsales.core.gone import stored_or_gone

from .models import CarInventory, InventoryTotals

ZERO = Decimal("0")


@dataclass(frozen=True)
class Stock:
    """Inventory figures, or a change to them; field names match the StockCounts columns."""

    cars_count: int = 0
    cars_value: Decimal = ZERO
    available_count: int = 0
    reserved_count: int = 0
    sold_count: int = 0
    withdrawn_count: int = 0

    @classmethod
    def of_cars(cls, *, count: int, value: Decimal | None, status: str) -> "Stock":
        """What `count` cars worth `value` in all, each with this status, add to the figures."""
        in_stock = status != CarStatus.SOLD
        return cls(
            cars_count=count if in_stock else 0,
            cars_value=(value or ZERO) if in_stock else ZERO,
            available_count=count if status == CarStatus.AVAILABLE else 0,
            reserved_count=count if status == CarStatus.RESERVED else 0,
            sold_count=count if status == CarStatus.SOLD else 0,
            withdrawn_count=count if status == CarStatus.WITHDRAWN else 0,
        )

    @classmethod
    def of_row(cls, row: InventoryTotals | CarInventory) -> "Stock":
        return cls(*(getattr(row, name) for name in STOCK_COLUMNS))

    def figures(self) -> tuple[Any, ...]:
        # Not dataclasses.astuple, which deep-copies: this runs on every car save.
        return tuple(getattr(self, name) for name in STOCK_COLUMNS)

    def __add__(self, other: "Stock") -> "Stock":
        return Stock(*(mine + theirs for mine, theirs in zip(self.figures(), other.figures(), strict=True)))

    def __sub__(self, other: "Stock") -> "Stock":
        return Stock(*(mine - theirs for mine, theirs in zip(self.figures(), other.figures(), strict=True)))

    def __bool__(self) -> bool:
        return any(self.figures())

    def as_columns(self) -> dict[str, int | Decimal]:
        return dict(zip(STOCK_COLUMNS, self.figures(), strict=True))


STOCK_COLUMNS = tuple(field.name for field in fields(Stock))


@transaction.atomic(savepoint=False)
def inventory_apply_change(*, change: Stock) -> None:
    """Add a change to the running totals, which records the resulting snapshot.

    One UPDATE, whatever the stock size: a trigger on the totals row writes its snapshot in the
    same statement (inventory migration 0005). It takes the totals row lock, so concurrent writers
    queue here and each snapshot reflects every change committed before it. On PostgreSQL it is
    sent with the rest of a save's derived data in one round trip (core.db.write_soon). No
    savepoint: a failure here fails the write it counts. A change that moves no figure costs none
    and records nothing.
    """
    if not change:
        return
    connection = transaction.get_connection()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [*change.figures(), now]
    update = _totals_update(connection.alias)

    def seeded_if_missing(moved: int | None) -> None:
        if moved is None:  # the first change ever: seed the row, then count the change
            insert_unless_duplicate(InventoryTotals(singleton=True))
            write_soon(connection.alias, update, params, then=_recorded, row=InventoryTotals)

    write_soon(connection.alias, update, params, then=seeded_if_missing, row=InventoryTotals)


def _recorded(moved: int | None) -> None:
    if moved is None:
        raise RuntimeError("The inventory totals row is missing and could not be created.")


def _placeholder(column: str) -> str:
    # SQLite would add a decimal, sent as text, as a float.
    is_decimal = isinstance(InventoryTotals._meta.get_field(column), DecimalField)
    return "CAST(%s AS NUMERIC)" if is_decimal else "%s"


@cache
def _totals_update(alias: str) -> str:
    """The UPDATE moving the totals (and, by its trigger, recording their snapshot), returning 1
    when the row is there. Built once: it runs on every save."""
    quote = connections[alias].ops.quote_name
    moved = ", ".join(f"{quote(name)} = {quote(name)} + {_placeholder(name)}" for name in STOCK_COLUMNS)
    totals = quote(InventoryTotals._meta.db_table)
    return f"UPDATE {totals} SET {moved}, {quote('updated_at')} = %s WHERE {quote('singleton')} RETURNING 1"


@dataclass(frozen=True)
class Drift:
    recorded: Stock  # the running totals
    actual: Stock  # the recount
    shown: Stock  # the latest snapshot, which the pages and the API show (zero before the first)

    @property
    def exists(self) -> bool:
        return self.totals_drifted or self.snapshot_drifted

    @property
    def totals_drifted(self) -> bool:
        return self.recorded != self.actual

    @property
    def snapshot_drifted(self) -> bool:
        """A snapshot written by hand after the totals' own (the totals' trigger writes the rest)."""
        return self.shown != self.recorded


RECOUNT_CHUNK = 5000


def _identity(chunks: Iterable[int]) -> Iterable[int]:
    return chunks


def _recount(ids_from: int, ids_to: int) -> Stock:
    not_sold = ~Q(status=CarStatus.SOLD)
    figures = Car.objects.filter(id__gte=ids_from, id__lt=ids_to).aggregate(
        cars_count=Count("id", filter=not_sold),
        cars_value=Coalesce(Sum("value", filter=not_sold), ZERO),
        available_count=Count("id", filter=Q(status=CarStatus.AVAILABLE)),
        reserved_count=Count("id", filter=Q(status=CarStatus.RESERVED)),
        sold_count=Count("id", filter=Q(status=CarStatus.SOLD)),
        withdrawn_count=Count("id", filter=Q(status=CarStatus.WITHDRAWN)),
    )
    return Stock(**figures)


@transaction.atomic
def inventory_reconcile(*, fix: bool, progress: Callable[[Iterable[int]], Iterable[int]] = _identity) -> Drift:
    """Recount the cars table and compare it with the running totals.

    The totals row stays locked meanwhile, so no car change lands between count and compare.
    The database sums the table in chunks of ids, each chunk passing through `progress` (a
    progress bar in the command). The latest snapshot, which the pages show, must be the totals.
    With `fix`, a drift is corrected and recorded as a snapshot.
    """
    insert_unless_duplicate(InventoryTotals(singleton=True))
    totals = stored_or_gone(InventoryTotals.objects.select_for_update(), singleton=True)
    bounds = Car.objects.aggregate(low=Min("id"), high=Max("id"))
    actual = Stock()
    if bounds["low"] is not None:
        for start in progress(range(bounds["low"], bounds["high"] + 1, RECOUNT_CHUNK)):
            actual += _recount(start, start + RECOUNT_CHUNK)
    latest = CarInventory.objects.first()
    shown = Stock() if latest is None else Stock.of_row(latest)
    drift = Drift(recorded=Stock.of_row(totals), actual=actual, shown=shown)
    if fix and drift.exists:  # its snapshot recorded by the totals row's trigger
        with InventoryTotals.own_writes.opened():
            InventoryTotals.objects.filter(pk=totals.pk).update(**actual.as_columns(), updated_at=timezone.now())
    return drift


def inventory_snapshots_prune(*, older_than: timedelta | None = None, batch_size: int = 5000) -> int:
    """Thin out the snapshots older than the retention (CARSALES_INVENTORY_SNAPSHOT_DAYS) to the
    last of each day, the figures the day closed on; returns how many were deleted.

    Recent snapshots all stay (every change, for the staff page's chart); the current figures
    live in the totals row, never in a snapshot read. Deletes in batches, each its own short
    transaction, so a first run over a large table holds no long lock.
    """
    age = older_than if older_than is not None else timedelta(days=settings.CARSALES_INVENTORY_SNAPSHOT_DAYS)
    old = CarInventory.objects.filter(created_at__lt=timezone.now() - age)
    closing = old.annotate(day=TruncDate("created_at")).values("day").annotate(last=Max("pk")).values("last")
    thinned = old.exclude(pk__in=Subquery(closing))
    deleted = 0
    while ids := list(thinned.values_list("pk", flat=True)[:batch_size]):
        with CarInventory.own_writes.opened():
            deleted += CarInventory.objects.filter(pk__in=ids).delete()[0]
    return deleted
