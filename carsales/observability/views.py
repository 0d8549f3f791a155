from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carsales.core.permissions import staff_required

from .selectors import request_stats


@staff_required("core.view_receiverfailure")
def request_stats_view(request: HttpRequest) -> HttpResponse:
    stats, since = request_stats()
    return render(request, "observability/requests.html", {"stats": stats, "since": since})
