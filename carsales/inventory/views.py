from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carsales.catalog.facts import sees_stock_details
from carsales.catalog.selectors import cars_longest_in_stock
from carsales.core.charts import Series, line_chart
from carsales.core.permissions import staff_required

from .selectors import inventory_current, inventory_history

AGEING_DAYS = (30, 60, 90, 180)
AGEING_SHOWN = 20


@staff_required("inventory.view_carinventory")
def inventory_dashboard(request: HttpRequest) -> HttpResponse:
    history = inventory_history()
    days = {str(days): days for days in AGEING_DAYS}.get(request.GET.get("older_than", ""), AGEING_DAYS[1])
    ageing, ageing_count = cars_longest_in_stock(days=days, limit=AGEING_SHOWN)
    chart = line_chart(
        title="Cars in stock and their value over time",
        labels=[snapshot.created_at for snapshot in history],
        series=[
            Series("Cars", [s.cars_count for s in history], "count"),
            Series("Value", [s.cars_value for s in history], "value", money=True),
        ],
    )
    return render(
        request,
        "inventory/dashboard.html",
        {
            "current": inventory_current(),
            "chart": chart,
            "recent": history[::-1][:15],
            "ageing": ageing,
            "ageing_count": ageing_count,
            "ageing_days": days,
            "ageing_choices": AGEING_DAYS,
            "sees_withdrawn_cars": sees_stock_details(request.user),  # their pages are stock staff's
        },
    )
