from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .conf import setting
from .selectors import dead_deliveries, deliveries_without_receiver, delivery_stats
from .services import deliveries_requeue
from .transports import executor_label


@staff_member_required
@permission_required("events.view_delivery", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    context = {
        "base_template": setting("BASE_TEMPLATE"),
        "executor": executor_label(),
        "stats": delivery_stats(),
        "dead": dead_deliveries(),
        "unknown": deliveries_without_receiver(),
    }
    return render(request, "events/overview.html", context)


@staff_member_required
@permission_required("events.change_delivery", raise_exception=True)
@require_POST
def requeue(request: HttpRequest) -> HttpResponse:
    # isascii: "²" isdigit() too, and int() refuses it; 19 digits: any id, and never past what int() reads.
    ids = [
        int(value)
        for value in request.POST.getlist("delivery")
        if value.isascii() and value.isdigit() and len(value) <= 19
    ]
    count = deliveries_requeue(ids=ids)
    messages.success(request, f"{count} dead deliveries requeued.")
    return redirect("events:overview")
