"""Catalogue responses replayed whole to a visitor who brings nothing of their own.

A request with no cookie and no credentials (a first visit, a crawler, an API client reading
the public list) gets, from a view that says so (pages.shared_with_anyone), the response every
such request to the same address with the same negotiating headers gets. This middleware keeps
that response (status, headers, body) by the catalogue's version, as catalogue_cached keeps a
page's parts, and replays it to the next such request before the session, authentication, CSRF,
message and view layers run: for that visitor they have nothing to read and nothing to add, and
what they added to the first response (Vary, X-Frame-Options, Content-Length) is in the copy.
The layers outside it (security headers, CSP, Cache-Control) run on the copy as on the original.

Only a response that sets no cookie is kept: one that mints a CSRF token or starts a session is
that visitor's own. Only the addresses whose views mark responses are looked up (learnt as they
are marked), so no other page pays for the version read.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import cc_delim_re

from .pages import catalogue_version, shared_version, version_key, version_read_for

# The request headers a kept response may vary on (but Cookie, absent from every request served
# here), each with the values a response is kept for: one asked with any other value is served,
# never kept, so made-up values cannot fill the cache (the API's negotiation, htmx's partial pages).
KEPT_FOR = {
    "HTTP_ACCEPT": {"", "*/*", "application/json"},
    "HTTP_HX_REQUEST": {"", "true"},
    "HTTP_HX_HISTORY_RESTORE_REQUEST": {"", "true"},
}
# Read by the catalogue page without a Vary (a history restore asks for the whole page): always keyed.
ALWAYS_KEYED = ("HTTP_HX_HISTORY_RESTORE_REQUEST",)
_Kept = tuple[int, list[tuple[str, str]], bytes]


class SharedResponsesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        # Each address whose view marked a response kept, with the request headers it is keyed by.
        self.keyed_by: dict[str, tuple[str, ...]] = {}

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        keyed = self.keyed_by.get(request.path_info)
        if keyed is None or not _brings_nothing(request) or not _kept_for(request, keyed):
            return self._served(request)
        version = catalogue_version()
        kept: _Kept | None = caches["pages"].get(_key(request, version, keyed))
        if kept is None:
            version_read_for(request, version)
            return self._served(request)
        status, headers, body = kept
        return HttpResponse(body, status=status, headers=dict(headers))

    def _served(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        version = shared_version(response)
        if version is None or not _brings_nothing(request):
            return response
        keyed = _keyed_by(response)
        if keyed is None or not _kept_for(request, keyed):
            return response
        kept: _Kept = (response.status_code, list(response.items()), response.content)  # type: ignore[attr-defined]
        caches["pages"].set(_key(request, version, keyed), kept, settings.CARSALES_PAGE_CACHE_SECONDS)
        self.keyed_by[request.path_info] = keyed
        return response


def _brings_nothing(request: HttpRequest) -> bool:
    """A GET with no cookie and no credentials (an empty header is none)."""
    meta = request.META
    return request.method == "GET" and not meta.get("HTTP_COOKIE") and not meta.get("HTTP_AUTHORIZATION")


def _keyed_by(response: HttpResponseBase) -> tuple[str, ...] | None:
    """The request headers (as META names) a copy of `response` is keyed by; None when it cannot
    be kept: not a whole 200, a cookie set (a CSRF token, a session), a Vary on another header."""
    if response.status_code != 200 or response.streaming or response.cookies:
        return None
    varies_on = {
        "HTTP_" + name.strip().upper().replace("-", "_")
        for name in cc_delim_re.split(response.get("Vary", ""))
        if name.strip()
    } - {"HTTP_COOKIE"}
    if not varies_on <= KEPT_FOR.keys():
        return None
    return tuple(sorted(varies_on | set(ALWAYS_KEYED)))


def _kept_for(request: HttpRequest, keyed: tuple[str, ...]) -> bool:
    return all(request.META.get(header, "") in KEPT_FOR[header] for header in keyed)


def _key(request: HttpRequest, version: int, keyed: tuple[str, ...]) -> str:
    negotiated = tuple(request.META.get(header, "") for header in keyed)
    # The absolute address: the API's links name the site as the request did.
    return version_key(version, "response", request.build_absolute_uri(), keyed, negotiated)
