"""Every admin list, the project's and its libraries' (auth, axes, tasks), answers a filter it
cannot run as a bad filter (Django's redirect to `?e=1`), never a 500.

Django turns a parameter into that answer only while it builds the list's query. Some fail later:
a year past the calendar in the date hierarchy (`?created_at__year=9999` and its last month), a
moment a time zone pushes past year 1 or 9999 once in UTC (SQLite converts it in Python), a lookup
the database has no SQL for (`contained_by` on SQLite) fail while the query is compiled; a range of
one word (`?status__range=garbage`), a pattern no regular expression reads (`?model__regex=(`), a
number past SQLite's integers fail only when the database runs it.
"""

import logging
from functools import cache, partial
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, transaction
from django.http import HttpRequest

logger = logging.getLogger(__name__)


@cache
def lookups_checked(changelist: type[ChangeList]) -> type[ChangeList]:
    """`changelist`, whose query is compiled when built and whose filters the database refused are
    a bad filter."""

    class LookupsChecked(changelist):  # type: ignore[valid-type,misc]
        def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
            try:
                queryset = super().get_queryset(request, exclude_parameters)
                queryset.query.sql_with_params()  # each date as the database is sent it
            except EmptyResultSet:
                return queryset  # a filter no row can match: Django answers it with no rows
            except (ValueError, OverflowError, NotImplementedError) as error:
                if not self.get_filters_params():
                    raise  # no filter asked: a failure is ours, not a bad filter
                raise IncorrectLookupParameters(error) from error
            return queryset

        def get_results(self, request: HttpRequest) -> None:
            if not self.get_filters_params():
                super().get_results(request)  # no filter asked: a failure is ours, not a bad filter
                return
            try:
                # The counts run the filters; the page's rows, read later, run the same WHERE. In a
                # savepoint, so that PostgreSQL's refusal leaves a request's transaction usable.
                with transaction.atomic(using=self.root_queryset.db):
                    super().get_results(request)
            except (DatabaseError, OverflowError) as error:
                if not self._runs_unfiltered():
                    raise  # the list fails without the filters too: ours, not a bad filter
                logger.warning("An admin list's filters were refused: %s", request.get_full_path(), exc_info=True)
                raise IncorrectLookupParameters(error) from error

        def _runs_unfiltered(self) -> bool:
            try:
                with transaction.atomic(using=self.root_queryset.db):
                    self.root_queryset.count()
            except (DatabaseError, OverflowError):
                return False
            return True

    LookupsChecked.__name__ = LookupsChecked.__qualname__ = f"LookupsChecked{changelist.__name__}"
    return LookupsChecked


def _changelist(plain: Any, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
    return lookups_checked(plain(request, **kwargs))


def register(site: admin.AdminSite = admin.site) -> None:
    """Every list of `site` (all registered by now: the admin app, first installed, found them)."""
    for model_admin in site._registry.values():
        model_admin.get_changelist = partial(_changelist, model_admin.get_changelist)  # type: ignore[method-assign]
