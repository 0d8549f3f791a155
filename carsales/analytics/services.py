"""The order events and the daily figures they move: O(1) per event, recountable."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from carsales.core.db import insert_unless_duplicate, insert_unless_duplicate_then_update
from carsales.core.money import format_money
from carsales.sales.models import Sale

from .models import DailySales, OrderEvent

ZERO = Decimal("0")


@transaction.atomic(savepoint=False)
def order_event_record(
    *,
    order_id: int,
    kind: str,
    amount: Decimal,
    cars: int,
    day: date | None = None,
    placed: int = 0,
    sales: int = 0,
    revenue: Decimal = ZERO,
    voided: int = 0,
) -> bool:
    """Record an order event once and move the figures of `day` (default today) by the deltas.

    Returns False, changing nothing, when this event of this order was already recorded
    (a redelivered signal).
    """
    day = day or timezone.localdate()
    event = OrderEvent(order_id=order_id, kind=kind, amount=amount, cars=cars, day=day)
    with OrderEvent.own_writes.opened():
        if not (placed or sales or revenue or voided):
            return insert_unless_duplicate(event)  # listed only (a refund): no day's figures row made for it
        return insert_unless_duplicate_then_update(
            event,
            seeding=DailySales,
            lookup={"day": day},
            changes={
                "orders_placed": F("orders_placed") + placed,
                "sales_count": F("sales_count") + sales,
                "revenue": F("revenue") + revenue,
                "sales_voided": F("sales_voided") + voided,
            },
        )


def sale_day(*, order_id: int, default: date) -> date:
    """The day a sale counts on: the day its order's payment was recorded."""
    paid = OrderEvent.objects.filter(order_id=order_id, kind=OrderEvent.Kind.PAID).values_list("day", flat=True)
    return paid.first() or default


@dataclass(frozen=True)
class DayDrift:
    day: date
    recorded: tuple[int, int, Decimal, int]
    actual: tuple[int, int, Decimal, int]


FIGURES = ("orders_placed", "sales_count", "revenue", "sales_voided")


def figures_described(figures: tuple[Any, ...]) -> str:
    placed, sales, revenue, voided = figures
    return f"{placed} placed, {sales} sales, {format_money(revenue)}, {voided} voided"


def _recount() -> dict[date, tuple[int, int, Decimal, int]]:
    Kind = OrderEvent.Kind
    money: DecimalField = DecimalField(max_digits=16, decimal_places=2)
    signed = Case(
        When(kind=Kind.PAID, then=F("amount")),
        When(kind=Kind.SALE_VOIDED, then=-F("amount")),
        default=Value(ZERO),
        output_field=money,
    )
    rows = OrderEvent.objects.values("day").annotate(
        placed=Count("id", filter=Q(kind=Kind.PLACED)),
        sales=Count("id", filter=Q(kind=Kind.PAID)) - Count("id", filter=Q(kind=Kind.SALE_VOIDED)),
        revenue=Coalesce(Sum(signed), Value(ZERO), output_field=money),
        voided=Count("id", filter=Q(kind=Kind.SALE_VOIDED)),
    )
    return {row["day"]: (row["placed"], row["sales"], row["revenue"], row["voided"]) for row in rows}


@transaction.atomic
def analytics_recount(*, fix: bool) -> list[DayDrift]:
    """Recount every day's figures from the order events and compare; with `fix`, correct them.
    A day whose events were pruned is left alone: its figures are the record.

    The daily rows are locked meanwhile, so no event lands between count and compare.
    """
    recorded, closed = {}, set()
    for row in DailySales.objects.select_for_update():
        if row.events_pruned:
            closed.add(row.day)
        else:
            recorded[row.day] = tuple(getattr(row, name) for name in FIGURES)
    # A sale voided after its day was closed moves that day's figures and leaves an event the
    # next prune takes: a day partly counted, never recounted.
    actual = {day: figures for day, figures in _recount().items() if day not in closed}
    drifts = [
        DayDrift(day, recorded.get(day, (0, 0, ZERO, 0)), actual.get(day, (0, 0, ZERO, 0)))  # type: ignore[arg-type]
        for day in sorted(set(recorded) | set(actual))
        if recorded.get(day, (0, 0, ZERO, 0)) != actual.get(day, (0, 0, ZERO, 0))
    ]
    if fix:
        with DailySales.own_writes.opened():
            for drift in drifts:
                figures = dict(zip(FIGURES, drift.actual, strict=True))
                DailySales.objects.update_or_create(day=drift.day, defaults=figures)
    return drifts


def order_events_prune(*, older_than: timedelta | None = None, batch_size: int = 5000) -> int:
    """Delete the order events of the days older than the retention (CARSALES_ANALYTICS_EVENT_DAYS);
    returns how many. Their days' figures stay, rolled up, and are marked as the record first, so
    a recount running meanwhile never sees a day with part of its events.

    Whole days go, each event by the day it counts on, but for the payment of a sale that still
    stands: a void, whenever it comes, is taken off the day that payment counted on. Deletes in
    batches (each its own transaction when called outside one).
    """
    age = older_than if older_than is not None else timedelta(days=settings.CARSALES_ANALYTICS_EVENT_DAYS)
    cutoff = timezone.localdate() - age
    with OrderEvent.own_writes.opened():
        DailySales.objects.filter(day__lt=cutoff, events_pruned=False).update(events_pruned=True)
        standing = Sale.objects.values("order_id")
        old = OrderEvent.objects.filter(day__lt=cutoff).exclude(kind=OrderEvent.Kind.PAID, order_id__in=standing)
        deleted = 0
        while ids := list(old.order_by("pk").values_list("pk", flat=True)[:batch_size]):
            deleted += OrderEvent.objects.filter(pk__in=ids).delete()[0]
    return deleted
