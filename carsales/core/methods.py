"""A page's answer to a method it does not take, on every page at once."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render


class MethodNotAllowedPageMiddleware:
    """The site's page for a page's 405: a form's address opened by a link, a bookmark or by hand
    (/accounts/logout/, a photo's "make cover"). Django answers with an empty body, which a
    browser shows as its own error. The API's 405 already says why, in JSON (DRF)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        bare = isinstance(response, HttpResponse) and not response.content  # Django's, an empty body
        opened = request.method in ("GET", "HEAD") and "POST" in response.get("Allow", "")  # a form's address
        if response.status_code != 405 or not bare or not opened or request.path.startswith("/api/"):
            return response
        page = render(request, "405.html", status=405)
        page["Allow"] = response["Allow"]
        return page
