from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carsales.core.charts import Series, line_chart
from carsales.core.permissions import staff_required
from carsales.orders.selectors import order_ids_existing
from carsales.sales.selectors import sales_latest

from .selectors import daily_sales_history, order_events_recent, sales_over


@staff_required("analytics.view_dailysales")
def sales_dashboard(request: HttpRequest) -> HttpResponse:
    history = daily_sales_history()
    chart = line_chart(
        title="Daily sales and revenue",
        labels=[day.day for day in history],
        series=[
            Series("Sales", [day.sales_count for day in history], "count"),
            Series("Revenue", [day.revenue for day in history], "value", money=True),
        ],
    )
    today = history[-1] if history else None
    events = order_events_recent()
    return render(
        request,
        "analytics/sales_dashboard.html",
        {
            "chart": chart,
            "today": today,
            "periods": [sales_over(days=7), sales_over(days=30)],  # "how did we do this week, this month"
            "events": events,
            # An event outlives a deleted order: only the others are linked.
            "orders_existing": order_ids_existing(ids=[event.order_id for event in events]),
            "sales": sales_latest(),
        },
    )
