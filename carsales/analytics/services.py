"""The order events and the daily figures they move: O(1) per event, recountable."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from carsales.core.db import insert_unless_duplicate_then_update

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
    return insert_unless_duplicate_then_update(
        OrderEvent(order_id=order_id, kind=kind, amount=amount, cars=cars, day=day),
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

    The daily rows are locked meanwhile, so no event lands between count and compare.
    """
    recorded = {
        row.day: tuple(getattr(row, name) for name in FIGURES) for row in DailySales.objects.select_for_update()
    }
    actual = _recount()
    drifts = [
        DayDrift(day, recorded.get(day, (0, 0, ZERO, 0)), actual.get(day, (0, 0, ZERO, 0)))  # type: ignore[arg-type]
        for day in sorted(set(recorded) | set(actual))
        if recorded.get(day, (0, 0, ZERO, 0)) != actual.get(day, (0, 0, ZERO, 0))
    ]
    if fix:
        for drift in drifts:
            DailySales.objects.update_or_create(day=drift.day, defaults=dict(zip(FIGURES, drift.actual, strict=True)))
    return drifts
