from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carsales.core.charts import Series, line_chart
from carsales.core.permissions import staff_required

from .selectors import inventory_current, inventory_history


@staff_required("inventory.view_carinventory")
def inventory_dashboard(request: HttpRequest) -> HttpResponse:
    history = inventory_history()
    chart = line_chart(
        title="Cars in stock and their value over time",
        labels=[snapshot.created_at for snapshot in history],
        series=[
            Series("Cars", [s.cars_count for s in history], "count"),
            Series("Value", [s.cars_value for s in history], "value"),
        ],
    )
    return render(
        request,
        "inventory/dashboard.html",
        {"current": inventory_current(), "chart": chart, "recent": history[::-1][:15]},
    )
