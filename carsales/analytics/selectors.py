from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from .models import DailySales, OrderEvent

CHART_DAYS = 90


def daily_sales_history(*, days: int = CHART_DAYS) -> list[DailySales]:
    """The latest `days` days that had activity, oldest first."""
    return list(reversed(DailySales.objects.all()[:days]))


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
