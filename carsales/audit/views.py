from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carsales.core.pagination import page_of
from carsales.core.permissions import staff_required

from .models import AuditEntry
from .selectors import ActivityFilterSet, activity_lines

LINES_PER_PAGE = 50


@staff_required("audit.view_auditentry")
def activity(request: HttpRequest) -> HttpResponse:
    """What happened in the dealership, newest first: who placed, paid, cancelled and voided
    which order, who added, repriced, edited and removed which car. The audit log, said in words."""
    chosen = ActivityFilterSet(request.GET, queryset=AuditEntry.objects.all())
    entries = chosen.qs if chosen.is_valid() else AuditEntry.objects.none()  # the form says what is wrong
    page = page_of(entries, LINES_PER_PAGE, request.GET.get("page"))
    return render(
        request,
        "audit/activity.html",
        {"filters": chosen, "page": page, "lines": activity_lines(list(page.object_list))},
    )
