from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import ReceiverFailure
from .signal_map import signal_map


@staff_member_required
def signals_overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "core/signals.html",
        {"signals": signal_map(), "failures": ReceiverFailure.objects.all()[:20]},
    )
