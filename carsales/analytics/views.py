from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carsales.core.charts import Series, line_chart
from carsales.core.permissions import staff_required
from carsales.orders.selectors import order_ids_existing
from carsales.sales.selectors import sales_latest

from .selectors import daily_sales_latest, daily_sales_window, order_events_recent, sales_over


@staff_required("analytics.view_dailysales")
def sales_dashboard(request: HttpRequest) -> HttpResponse:
    window = daily_sales_window()
    chart = line_chart(
        title="Daily sales and revenue",
        labels=[day.day for day in window],
        series=[
            Series("Sales", [day.sales_count for day in window], "count"),
            Series("Revenue", [day.revenue for day in window], "value", money=True),
        ],
    )
    today = daily_sales_latest()
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
