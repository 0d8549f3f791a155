"""How every address answers a method: a HEAD as its GET, and a page's 405 as the site's page."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render


class HeadAsGetMiddleware:
    """A HEAD is answered as the GET of the same address, on every page and API route (RFC 9110:
    the same status and headers; the server, reading the method from the WSGI environ, sends no
    body). Every view and layer after it sees a GET: a view that tells a read from a write by
    testing for GET can never take a HEAD for a write (the API's photo upload did, for anyone),
    and an address open to GET is open to HEAD (pages taking GET and POST answered it 405)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method == "HEAD":
            request.method = "GET"
        return self.get_response(request)


class MethodNotAllowedPageMiddleware:
    """The site's page for a page's 405: a form's address opened by a link, a bookmark or by hand
    (/accounts/logout/, a photo's "make cover"). Django answers with an empty body, which a
    browser shows as its own error. The API's 405 already says why, in JSON (DRF)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        bare = isinstance(response, HttpResponse) and not response.content  # Django's, an empty body
        opened = request.method == "GET" and "POST" in response.get("Allow", "")  # a form's address (or its HEAD)
        if response.status_code != 405 or not bare or not opened or request.path.startswith("/api/"):
            return response
        page = render(request, "405.html", status=405)
        page["Allow"] = response["Allow"]
        return page
