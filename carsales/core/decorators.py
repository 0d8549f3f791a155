"""View decorators shared by the apps."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect

View = Callable[..., HttpResponse]


def posted_else_back_to(where: Callable[..., Any]) -> Callable[[View], View]:
    """A view that acts on POST only; a GET of its address (a log-in that returns to it, a reload
    of the page it answered) goes where its form lives, `where(**view_kwargs)` (anything
    `redirect` takes), instead of an empty 405. A GET writes nothing either way."""

    def decorator(view: View) -> View:
        @wraps(view)
        def posted_only(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method == "GET":  # a HEAD too (core.methods.HeadAsGetMiddleware)
                return redirect(where(**kwargs))
            return HttpResponseNotAllowed(["POST"])

        return posted_only

    return decorator
