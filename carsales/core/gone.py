"""A row a request acts on, deleted meanwhile by another request: a 404, on every path.

A service reads the row it changes again, locked, and raises the model's DoesNotExist when
another request deleted it between the view's lookup and that read (a car deleted while staff
change its gallery). Answered here once, for the pages (GoneAsNotFoundMiddleware) and for the
API (api_exception_handler), instead of by each view around each service it calls.
"""

import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


@cache
def _models_by_missing() -> dict[type[Exception], Any]:
    return {model.DoesNotExist: model for model in apps.get_models()}  # type: ignore[attr-defined]  # every model's own


def gone_message(error: ObjectDoesNotExist) -> str:
    """ "This car was deleted meanwhile.", naming the model whose row is missing."""
    model = _models_by_missing().get(type(error))
    return f"This {model._meta.verbose_name if model else 'item'} was deleted meanwhile."


def _noted(error: ObjectDoesNotExist, request: Any) -> str:
    # Logged with its traceback: a row missing for another reason than a deletion is a bug to see.
    message = gone_message(error)
    logger.warning("%s %s: %s (answered 404)", request.method, request.path, message, exc_info=error)
    return message


class GoneAsNotFoundMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, ObjectDoesNotExist):
            raise Http404(_noted(exception, request)) from exception  # the site's 404 page


def api_exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with a row deleted meanwhile answered 404 with what was deleted."""
    if isinstance(error, ObjectDoesNotExist):
        error = NotFound(_noted(error, context["request"]))
    return exception_handler(error, context)
