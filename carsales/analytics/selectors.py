from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from .models import DailySales, OrderEvent

CHART_DAYS = 90


def daily_sales_window(*, days: int = CHART_DAYS) -> list[DailySales]:
    """Each of the last `days` days, today included, oldest first: a day nothing happened on (it has
    no row) as zeros, so a chart of them shows the quiet days as such. None before the first day
    anything happened on. One query; a second when the window is empty."""
    today = timezone.localdate()
    since = today - timedelta(days=days - 1)
    stored = {row.day: row for row in DailySales.objects.filter(day__gte=since, day__lte=today)}
    if not stored and not DailySales.objects.filter(day__lt=since).exists():
        return []
    return [stored.get(day) or DailySales(day=day) for day in (since + timedelta(days=n) for n in range(days))]


def daily_sales_latest() -> DailySales | None:
    """The latest day anything happened on (an order placed, paid or voided)."""
    return DailySales.objects.first()


def order_events_recent(*, limit: int = 20) -> list[OrderEvent]:
    return list(OrderEvent.objects.all()[:limit])


@dataclass(frozen=True)
class SalesOver:
    days: int
    sales: int
    revenue: Decimal


def sales_over(*, days: int) -> SalesOver:
    """The sales that stand and their revenue over the last `days` days, today included; one query."""
    since = timezone.localdate() - timedelta(days=days - 1)
    totals = DailySales.objects.filter(day__gte=since).aggregate(sales=Sum("sales_count"), revenue=Sum("revenue"))
    return SalesOver(days=days, sales=totals["sales"] or 0, revenue=totals["revenue"] or Decimal(0))
