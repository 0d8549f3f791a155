from datetime import UTC, datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.vary import vary_on_headers

from carsales.core.permissions import staff_required

from .selectors import request_stats, timeline_chain_with_cause, timeline_chains


@staff_required("core.view_receiverfailure")
def request_stats_view(request: HttpRequest) -> HttpResponse:
    stats, since = request_stats()
    return render(request, "observability/requests.html", {"stats": stats, "since": since})


TIMELINE_FILTERS = ("signal", "receiver", "app", "outcome", "subject", "committed", "since")


def _since(text: str) -> datetime | None:
    """A date or a date and time typed in the filter; None for nothing or nonsense (no filter)."""
    try:
        moment = parse_datetime(text) if text else None
        if moment is None and text:
            day = parse_date(text)
            moment = datetime.combine(day, datetime.min.time()) if day else None
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if moment is not None:
            moment.astimezone(UTC)  # as the database stores it: 31 Dec 9999 at UTC-12 is past its calendar
    except (ValueError, OverflowError):  # well formed, but no such day (here or in UTC)
        return None
    return moment


@staff_required("core.view_receiverfailure")
@vary_on_headers("HX-Request", "HX-History-Restore-Request")  # the page, its list, the page again on Back
def timeline_view(request: HttpRequest) -> HttpResponse:
    """The latest chains of signals, filtered; htmx refreshes the list every few seconds. Back
    to a filter htmx pushed asks for the whole page (a history restore), not the list."""
    filters = {name: request.GET.get(name, "").strip()[:120] for name in TIMELINE_FILTERS}
    chains = timeline_chains(
        signal=filters["signal"],
        receiver=filters["receiver"],
        app=filters["app"],
        outcome=filters["outcome"],
        subject=filters["subject"],
        committed=filters["committed"],
        since=_since(filters["since"]),
    )
    context = {"chains": chains, "filters": filters}
    htmx = request.htmx and not request.htmx.history_restore_request  # type: ignore[attr-defined]
    template = "observability/_chains.html" if htmx else "observability/timeline.html"
    return render(request, template, context)


@staff_required("core.view_receiverfailure")
def chain_view(request: HttpRequest, chain: str) -> HttpResponse:
    cause, steps = timeline_chain_with_cause(chain=str(chain))
    if not steps:
        raise Http404("No such chain (pruned, or never recorded).")
    return render(request, "observability/chain.html", {"steps": steps, "chain": chain, "cause": cause})
