"""A row a request acts on, deleted meanwhile by another request: a 404, on every path.

A service reads the row it changes again, locked, and finds it gone when another request deleted
it between the view's lookup and that read (a car deleted while staff change its gallery). Such a
read raises `deleted_meanwhile(Model)`: the model's own DoesNotExist (what callers catch), marked
as DeletedMeanwhile. That mark alone is answered here once, for the pages
(GoneAsNotFoundMiddleware) and for the API (api_exception_handler), instead of by each view around
each service it calls. Any other DoesNotExist escaping a view is a bug, and stays a 500.
"""

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import exception_handler

M = TypeVar("M", bound=models.Model)


class DeletedMeanwhile(ObjectDoesNotExist):
    """The row was there when the request found it, and gone when a service read it locked."""


@cache
def _deleted_meanwhile_class(model: type[models.Model]) -> type[Exception]:
    missing = model.DoesNotExist  # type: ignore[attr-defined]  # every model's own
    return type(f"{model.__name__}DeletedMeanwhile", (missing, DeletedMeanwhile), {"__module__": __name__})


def deleted_meanwhile(model: type[models.Model]) -> Exception:
    """The exception a locked re-read of a `model` row raises when the row is gone: an instance of
    `model.DoesNotExist` and of DeletedMeanwhile, saying "This car was deleted meanwhile."."""
    return _deleted_meanwhile_class(model)(f"This {model._meta.verbose_name} was deleted meanwhile.")


def stored_or_gone(rows: "models.QuerySet[M]", **lookup: Any) -> M:
    """The row `lookup` names among `rows` (a service's locked re-read: `select_for_update()` and
    what it joins), or deleted_meanwhile(model) when another request deleted it since the caller
    found it. Every service's re-read goes through here (a test holds them to it): a plain get()
    would let the model's bare DoesNotExist escape as a 500."""
    try:
        return rows.get(**lookup)
    except ObjectDoesNotExist:  # the model's own, which get() raises
        raise deleted_meanwhile(rows.model) from None


def found_or_made_for(parent: models.Model, model: type[M], **lookup: Any) -> M:
    """The `model` row `lookup` names, made on first need (get_or_create) with `parent`'s row
    locked against its deletion: a parent deleted meanwhile is deleted_meanwhile(its model), a 404,
    not a row for no one. Found, as it nearly always is, it costs one query and no lock."""
    rows = model._default_manager
    row = rows.filter(**lookup).first()
    if row is None:
        with transaction.atomic(using=rows.db):
            parents = parent._meta.model._default_manager
            stored_or_gone(parents.select_for_update(no_key=True).only("pk"), pk=parent.pk)
            row, _ = rows.get_or_create(**lookup)
    return row


class GoneAsNotFoundMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, DeletedMeanwhile):
            raise Http404(str(exception)) from exception  # the site's 404 page


def api_exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with a row deleted meanwhile answered 404 with what was deleted."""
    if isinstance(error, DeletedMeanwhile):
        error = NotFound(str(error))
    return exception_handler(error, context)
