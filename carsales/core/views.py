from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import ReceiverFailure
from .permissions import staff_required
from .signal_map import signal_map


@staff_required
def signals_overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "core/signals.html",
        {"signals": signal_map(), "failures": ReceiverFailure.objects.all()[:20]},
    )
