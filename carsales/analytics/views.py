from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carsales.core.charts import Series, line_chart
from carsales.core.permissions import staff_required
from carsales.sales.selectors import sale_list

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
    return render(
        request,
        "analytics/sales_dashboard.html",
        {
            "chart": chart,
            "today": today,
            "periods": [sales_over(days=7), sales_over(days=30)],  # "how did we do this week, this month"
            "events": order_events_recent(),
            "sales": sale_list()[:20],
        },
    )
