from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .conf import setting
from .selectors import dead_deliveries, deliveries_without_receiver, delivery_stats
from .services import deliveries_requeue
from .transports import executor_label


def _staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A visitor goes to log in; a signed-in user who is not staff gets the site's 403, not the
    admin's log-in form (which would only invite them to log in as somebody else). As the
    project's core.permissions.staff_required does, which this app may not import."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@_staff_only
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


@_staff_only
@permission_required("events.change_delivery", raise_exception=True)
def requeue(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # a log-in returning here: the form is on the overview
        return redirect("events:overview")
    # isascii: "²" isdigit() too, and int() refuses it; 19 digits: any id, and never past what int() reads.
    ids = [
        int(value)
        for value in request.POST.getlist("delivery")
        if value.isascii() and value.isdigit() and len(value) <= 19
    ]
    count = deliveries_requeue(ids=ids)
    messages.success(request, f"{count} dead deliveries requeued.")
    return redirect("events:overview")
