from .models import DailySales, OrderEvent

CHART_DAYS = 90


def daily_sales_history(*, days: int = CHART_DAYS) -> list[DailySales]:
    """The latest `days` days that had activity, oldest first."""
    return list(reversed(DailySales.objects.all()[:days]))


def order_events_recent(*, limit: int = 20) -> list[OrderEvent]:
    return list(OrderEvent.objects.all()[:limit])
