"""Catalogue responses replayed whole to a visitor who brings nothing of their own.

A request with no cookie and no credentials (a first visit, a crawler, an API client reading
the public list) gets, from a view that says so (pages.shared_with_anyone), the response every
such request to the same address with the same negotiating headers gets. This middleware keeps
that response (status, headers, body) by the catalogue's version, as catalogue_cached keeps a
page's parts, and replays it to the next such request before the session, authentication, CSRF,
message and view layers run: for that visitor they have nothing to read and nothing to add, and
what they added to the first response (Vary, X-Frame-Options, Content-Length) is in the copy.
The layers outside it (security headers, CSP, Cache-Control) run on the copy as on the original.

Only a response that sets no cookie is kept: one that starts a session is that visitor's own. A
page with a form is kept with its CSRF token's slots (pages.CSRF_TOKEN_SLOT), which the view leaves
for this middleware to fill: each response, the first and every replay, gets a token of its own
and the cookie that goes with it, as the CSRF layer would have set it. Only the addresses whose
views mark responses are looked up (learnt as they are marked), so no other page pays for the
version read.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import cc_delim_re, patch_vary_headers

from carsales.core.csrf import new_secret_and_token

from .pages import (
    CSRF_TOKEN_SLOT,
    catalogue_version,
    copy_kept,
    keep_copy,
    oldest_part,
    shared_as,
    token_put_in_later,
    version_key,
    version_read_for,
)

# The request headers a kept response may vary on (but Cookie, absent from every request served
# here), each with the values a response is kept for: one asked with any other value is served,
# never kept, so made-up values cannot fill the cache (the API's negotiation, htmx's partial pages).
KEPT_FOR = {
    "HTTP_ACCEPT": {"", "*/*", "application/json"},
    "HTTP_HX_REQUEST": {"", "true"},
    "HTTP_HX_HISTORY_RESTORE_REQUEST": {"", "true"},
}
_Kept = tuple[int, list[tuple[str, str]], bytes]
_TOKEN_SLOT = CSRF_TOKEN_SLOT.encode()


class _Keying:
    """What the copies of one path are keyed by, learnt from the response its view marked."""

    def __init__(self, headers: tuple[str, ...], names_site: bool) -> None:
        self.headers = headers  # as META names
        self.names_site = names_site


class SharedResponsesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.keyed_by: dict[str, _Keying] = {}

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not _brings_nothing(request):
            return self.get_response(request)
        keying = self.keyed_by.get(request.path_info)
        if keying is None or not _kept_for(request, keying.headers):
            return self._served(request)
        # Before anything is read: a host Django refuses is answered 400, as the site would.
        host = request.get_host()
        version = catalogue_version()
        kept: _Kept | None = copy_kept(_key(request, host, version, keying))
        if kept is None:
            version_read_for(request, version)
            return self._served(request)
        status, headers, body = kept
        return self._with_own_token(request, HttpResponse(body, status=status, headers=dict(headers)))

    def _served(self, request: HttpRequest) -> HttpResponseBase:
        """The site's response to a request bringing nothing, kept when its view marked it."""
        puts_in_token = not settings.CSRF_USE_SESSIONS  # a token kept in a session is that session's
        if puts_in_token:
            token_put_in_later(request)
        with oldest_part() as oldest:
            response = self.get_response(request)
        self._keep(request, response, made_at=oldest.made_at)
        return self._with_own_token(request, response) if puts_in_token else response

    def _keep(self, request: HttpRequest, response: HttpResponseBase, *, made_at: float) -> None:
        """Keep `response` for the next such request, when its view marked it and it can be kept."""
        shared = shared_as(response)
        if shared is None:
            return
        headers = _keyed_by(response)
        if headers is None or not _kept_for(request, headers):
            return
        version, names_site = shared
        keying = _Keying(headers, names_site)
        kept: _Kept = (response.status_code, list(response.items()), response.content)  # type: ignore[attr-defined]
        keep_copy(_key(request, request.get_host(), version, keying), kept, made_at=made_at)
        self.keyed_by[request.path_info] = keying

    def _with_own_token(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """`response` with a CSRF token of the visitor's own in its slots, and its cookie set as
        the CSRF layer sets it (this middleware runs outside that layer)."""
        if not isinstance(response, HttpResponse) or _TOKEN_SLOT not in response.content:
            return response
        secret, token = new_secret_and_token()
        response.content = response.content.replace(_TOKEN_SLOT, token.encode())
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        response.set_cookie(
            settings.CSRF_COOKIE_NAME,
            secret,
            max_age=settings.CSRF_COOKIE_AGE,
            domain=settings.CSRF_COOKIE_DOMAIN,
            path=settings.CSRF_COOKIE_PATH,
            secure=settings.CSRF_COOKIE_SECURE,
            httponly=settings.CSRF_COOKIE_HTTPONLY,
            samesite=settings.CSRF_COOKIE_SAMESITE,
        )
        if "cookie" not in (name.strip().lower() for name in response.get("Vary", "").split(",")):
            patch_vary_headers(response, ("Cookie",))
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
    return tuple(sorted(varies_on)) if varies_on <= KEPT_FOR.keys() else None


def _kept_for(request: HttpRequest, headers: tuple[str, ...]) -> bool:
    return all(request.META.get(header, "") in KEPT_FOR[header] for header in headers)


def _key(request: HttpRequest, host: str, version: int, keying: _Keying) -> str:
    # The query as the view reads it (parsed, in a canonical order), not as it was spelt.
    query = sorted((name, tuple(values)) for name, values in request.GET.lists())
    negotiated = tuple(request.META.get(header, "") for header in keying.headers)
    site = (request.scheme, host.lower()) if keying.names_site else None
    return version_key(version, "response", request.path_info, query, keying.headers, negotiated, site)
