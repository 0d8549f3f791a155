from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults

from .models import ReceiverFailure
from .permissions import staff_required
from .signal_diagram import signal_diagram
from .signal_map import signal_map


@staff_required("core.view_receiverfailure")
def signals_overview(request: HttpRequest) -> HttpResponse:
    signals = signal_map()
    return render(
        request,
        "core/signals.html",
        {"signals": signals, "diagram": signal_diagram(signals), "failures": ReceiverFailure.objects.all()[:20]},
    )


def view_on_site(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """The admin's "view on site" link (`/admin/r/<type>/<id>/`): an id the model's key cannot hold
    (not a UUID, a NUL byte for a text key on PostgreSQL) is a 404, as a missing row is, where
    Django's shortcut passed it on to a query that failed, a 500."""
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        raise Http404("No such kind of row.") from None
    if model is not None:
        key = model._meta.pk
        try:
            key.run_validators(key.to_python(object_id))
        except ValidationError:
            raise Http404("No such row.") from None
        if "\x00" in object_id:
            raise Http404("No such row.")
    return shortcut(request, content_type_id, object_id)


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class RefusedRequest(BadRequest):
    """A request refused with a reason said to its sender (a BadRequest's own text may hold
    what is for the log only)."""


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    reason = str(exception) if isinstance(exception, RefusedRequest) else ""
    if _api(request):
        return JsonResponse({"detail": reason or "Bad request."}, status=400)
    if reason:
        return render(request, "400.html", {"reason": reason}, status=400)
    return defaults.bad_request(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form posted from a page whose token no longer holds (a log-in or log-out in another tab
    since): the site's page saying so, with the way back to it, not Django's bare one."""
    if _api(request):
        return JsonResponse({"detail": f"CSRF check failed: {reason}"}, status=403)
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    # No CSRF cookie came with the form: cookies cleared or blocked, not a log-in elsewhere.
    context = {"back": referer if same_site else None, "no_cookie": reason == REASON_NO_CSRF_COOKIE}
    return render(request, "403_csrf.html", context, status=403)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under /api/ every answer is JSON, a URL no route matches included. A car's page gone says
    the car is not on sale now (a sold car keeps its page); any other page, that the address may
    be wrong or out of date."""
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    match = request.resolver_match  # None when no route matched the address
    car_gone = match is not None and match.view_name == "catalog:car_detail"
    return render(request, "404.html", {"car_gone": car_gone}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Something went wrong on our side; it has been logged."}, status=500)
    return defaults.server_error(request)
