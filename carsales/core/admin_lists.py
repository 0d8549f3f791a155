"""Every admin list, the project's and its libraries' (auth, axes, tasks), answers a date filter it
cannot read as a bad filter (Django's redirect to `?e=1`), never a 500.

A year past the calendar in the date hierarchy (`?created_at__year=9999` and its last month), a
moment a time zone pushes past year 1 or 9999 once in UTC (SQLite converts it in Python), a number
too long for a date: each failed building or compiling the list's query, after the point where
Django turns a bad parameter into its answer.
"""

from functools import cache, partial
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet
from django.http import HttpRequest


@cache
def dates_read(changelist: type[ChangeList]) -> type[ChangeList]:
    """`changelist`, whose query is compiled when built: a date it cannot hold is a bad filter."""

    class DatesRead(changelist):  # type: ignore[valid-type,misc]
        def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
            try:
                queryset = super().get_queryset(request, exclude_parameters)
                queryset.query.sql_with_params()  # each date as the database is sent it
            except EmptyResultSet:
                return queryset  # a filter no row can match: Django answers it with no rows
            except (ValueError, OverflowError) as error:
                raise IncorrectLookupParameters(error) from error
            return queryset

    DatesRead.__name__ = DatesRead.__qualname__ = f"DatesRead{changelist.__name__}"
    return DatesRead


def _changelist(plain: Any, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
    return dates_read(plain(request, **kwargs))


def register(site: admin.AdminSite = admin.site) -> None:
    """Every list of `site` (all registered by now: the admin app, first installed, found them)."""
    for model_admin in site._registry.values():
        model_admin.get_changelist = partial(_changelist, model_admin.get_changelist)  # type: ignore[method-assign]
