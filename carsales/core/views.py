from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import ReceiverFailure
from .permissions import staff_required
from .signal_diagram import signal_diagram
from .signal_map import signal_map


@staff_required
def signals_overview(request: HttpRequest) -> HttpResponse:
    signals = signal_map()
    return render(
        request,
        "core/signals.html",
        {"signals": signals, "diagram": signal_diagram(signals), "failures": ReceiverFailure.objects.all()[:20]},
    )
