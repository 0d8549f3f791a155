"""Request guards that run before anything else: whom to believe, and how much body to accept."""

import ipaddress
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date

from .views import RefusedRequest, bad_request

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(value: str) -> Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


class _WithMeta(Protocol):  # a Django request, or DRF's wrapping one
    META: dict[str, Any]


def client_counted(request: "_WithMeta") -> str:
    """The address that rate limits and log-in lock-outs count a client by: an IPv4 address as it
    is; an IPv6 address as the first address of its /64, the block one subscriber is given and
    may pick a new address from at will (counting each address would let them dodge any limit).
    Every client whose address cannot be read (none: a server on a unix socket) counts as one,
    UNREAD_ADDRESS: a blank one would count none of them, and lock none out."""
    address = _address(request.META.get("REMOTE_ADDR", ""))
    if address is None:
        return UNREAD_ADDRESS
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False).network_address)
    return str(address)


UNREAD_ADDRESS = "0.0.0.0"  # an address, as the lock-outs' column must hold; no client's own


def _networks(entries: list[str]) -> list[Network]:
    # Strict, as gunicorn's forwarded_allow_ips: "10.0.0.1/8" is a typo to fix, not to guess.
    return [ipaddress.ip_network(entry) for entry in entries]


class TrustedProxyMiddleware:
    """Believe X-Forwarded-Proto and X-Forwarded-For only from the proxies in TRUSTED_PROXIES.

    Django's SECURE_PROXY_SSL_HEADER believes any client, so without this a request sent
    straight to the app server could claim to be https. From any other peer both headers are
    dropped. From a trusted proxy, REMOTE_ADDR becomes the right-most X-Forwarded-For address
    that is not itself a trusted proxy (what lies left of it is the client's own claim), so
    log-in lockouts and rate limits count clients, not the proxy everyone comes through.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.trusted = _networks(settings.TRUSTED_PROXIES)

    def is_trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.trusted)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if not self.is_trusted(_address(meta.get("REMOTE_ADDR", ""))):
            meta.pop("HTTP_X_FORWARDED_PROTO", None)
            meta.pop("HTTP_X_FORWARDED_FOR", None)
        else:
            for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
                address = _address(hop)
                if address is None:
                    break
                meta["REMOTE_ADDR"] = str(address)
                if not self.is_trusted(address):
                    break
        return self.get_response(request)


class RequestBodyLimitMiddleware:
    """Answer 413 to a request declaring a body over CARSALES_MAX_REQUEST_BYTES, unread (or over
    its own limit for a path of CARSALES_LARGE_REQUEST_PATHS: several photos in one upload).

    Django's own limits apply while it parses a body; this refuses an oversized upload
    before a worker spends time receiving it. The reverse proxy should refuse it first
    (docs/deployment.md); this covers a proxy configured otherwise, and `make run`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body for an invalid length either
        limit = next(
            (size for path, size in settings.CARSALES_LARGE_REQUEST_PATHS.items() if re.match(path, request.path)),
            settings.CARSALES_MAX_REQUEST_BYTES,
        )
        if length > limit:
            return HttpResponse(
                f"The request is too large: at most {limit // (1024 * 1024)} MiB.",
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class NulInQueryMiddleware:
    """Answer 400 to a request whose query parameters hold a NUL character (%00).

    No text column holds one, and PostgreSQL refuses to compare a text with one: a filter that
    passed it on (an admin list's, a staff page's search) failed inside its query, a 500. No form
    or link of the site puts one there. Refused here, for every page and API at once.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if ("%00" in query or "\x00" in query) and any(
            "\x00" in name or any("\x00" in value for value in values) for name, values in request.GET.lists()
        ):
            return bad_request(request, RefusedRequest(NUL_IN_QUERY))
        return self.get_response(request)


NUL_IN_QUERY = "The address holds a NUL character (%00), which no search or filter can hold: leave it out."


class AdminSelectionMiddleware:
    """Answer 400 to an admin action posted with a selected row that is no key of its list.

    Django's admin filters the list by the keys posted (`_selected_action`) as they come: one that
    is not a number, for a list keyed by numbers, or past what the column holds, failed inside the
    query, a 500, on every list with an action (ours and the ones Django and the libraries
    register). Checked here, by each list's own key field, for all of them at once.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        model_admin = getattr(view, "model_admin", None)  # the admin's own views carry it
        if model_admin is None or request.method != "POST" or "action" not in request.POST:
            return None
        key = model_admin.model._meta.pk
        try:
            for selected in request.POST.getlist(ACTION_CHECKBOX_NAME):
                key.run_validators(key.to_python(selected))  # a number, within the column's range
        except ValidationError:
            return bad_request(request, RefusedRequest(NOT_A_ROW_OF_THE_LIST))
        return None


NOT_A_ROW_OF_THE_LIST = "The action names a row that is not in the list: choose the rows from the list."

PRIVATE = "max-age=0, no-cache, no-store, must-revalidate, private"


class PrivatePagesMiddleware:
    """Pages that depend on who asks are never stored by a browser's or a proxy's cache.

    A response is private when the request came from a logged-in user (session or token) or
    the response varies on the session cookie (a cart, a form with a CSRF token, a message):
    it gets `Cache-Control: private, no-cache, no-store, must-revalidate`, so the next person at
    a shared computer cannot read it from the back button or a proxy. A response that set its
    own Cache-Control keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        personal = bool(user is not None and user.is_authenticated) or "Cookie" in response.get("Vary", "")
        if personal and not response.has_header("Cache-Control"):
            # What add_never_cache_headers and patch_cache_control(private=True) write to a response
            # without a Cache-Control, written at once: merging directives cost a tenth of a cached page.
            response["Cache-Control"] = PRIVATE
            if not response.has_header("Expires"):
                response["Expires"] = http_date(time.time())
        return response
