"""Reads run on every request, built by the ORM once per database.

Building a query costs the ORM more than running it: on SQLite `User.objects.get(pk=...)` takes
143 µs, of which the statement and the instance 19 µs. A page read by every signed-in request (the
session, the user, the cart) or rendered per car pays it each time. `PreparedQuery` builds such a
query once per database, with a stand-in for each value that varies, finds where each stand-in
landed in the statement's parameters, and then runs the same text with the values of the call:
the rows come back as the queryset would have given them (instances with their select_related
objects and annotations, values_list tuples or values_list(flat=True) values), through the same
converters.

A stand-in must reach the parameters as it was given (an int, a str or an aware datetime compared
with a field of that kind): a query that folds it into its text, or drops it, is refused when it is
first built, not run wrong.
"""

import copy
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import (  # type: ignore[attr-defined]  # not in django-stubs
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

_Kind = type[int] | type[str] | type[datetime]


def _stand_ins(kinds: dict[str, _Kind]) -> dict[str, Any]:
    """A value of each kind that no query holds by chance, each told apart from the others. An int
    in the range of every integer column, the smallest's included: one out of a column's range
    folds the lookup to no rows (PostgreSQL), and the stand-in would never reach the parameters."""
    stand_ins: dict[str, Any] = {}
    for number, (name, kind) in enumerate(kinds.items(), start=1):
        if kind is int:
            stand_ins[name] = 31_000 + number
        elif kind is str:
            stand_ins[name] = f"prepared-{name}-{number}-e1d3f8"
        elif kind is datetime:
            stand_ins[name] = datetime(2001, 2, 3, 4, 5, 6, number, tzinfo=UTC)
        else:
            raise TypeError(f"PreparedQuery: {name} is a {kind.__name__}; only int, str and datetime values can vary.")
    return stand_ins


def _adapt(name: str, kind: _Kind, value: Any, connection: Any) -> Any:
    """`value` as the ORM passes a value of this kind to the database; refused where the ORM would
    have built another query (None is IS NULL) or read it otherwise (a naive datetime, a date)."""
    if kind is datetime:
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise TypeError(f"PreparedQuery: {name} must be an aware datetime, not {value!r}.")
        return connection.ops.adapt_datetimefield_value(value)
    if value is None or isinstance(value, bool) or not isinstance(value, kind | str):
        raise TypeError(f"PreparedQuery: {name} must be a {kind.__name__}, not {value!r}.")
    return int(value) if kind is int else str(value)


@dataclass(frozen=True)
class _Built:
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, _Kind], ...]  # (parameter position, name, kind)
    iterable: type
    converters: dict[int, Any]  # per column: the backend's and the field's (from_db_value), as results_iter finds them


_KEPT_ON_CONNECTION = "_carsales_prepared_queries"


class PreparedQuery:
    """`build(**values)` returns the queryset; `kinds` names each value and its type (int, str,
    datetime). `rows(**values)` runs it; `first(**values)` its first row or None."""

    ITERABLES = (ModelIterable, ValuesListIterable, FlatValuesListIterable)

    def __init__(self, build: Callable[..., QuerySet[Any]], **kinds: _Kind) -> None:
        self.build, self.kinds = build, kinds
        self._model: type[Model] | None = None

    def _for(self, using: str) -> _Built:
        """Built once for each connection, and kept on it: what is built holds the connection
        (the compiler, the backend's converters), so kept anywhere else it would keep open the
        connection of every thread that ever built it (runserver's, a threaded worker's), past
        what the database allows. Kept weakly by query: one a cache lets go is let go here too."""
        connection = connections[using]
        kept: weakref.WeakKeyDictionary[PreparedQuery, _Built] = connection.__dict__.setdefault(
            _KEPT_ON_CONNECTION, weakref.WeakKeyDictionary()
        )
        built = kept.get(self)
        if built is None:
            built = kept[self] = self._compile(using)
        return built

    def _compile(self, using: str) -> _Built:
        connection = connections[using]
        stand_ins = _stand_ins(self.kinds)
        queryset = self.build(**stand_ins)
        if queryset._iterable_class not in self.ITERABLES:
            raise TypeError("PreparedQuery: the query must give instances or values_list values.")
        if queryset._prefetch_related_lookups or queryset._known_related_objects:  # type: ignore[attr-defined]
            raise TypeError("PreparedQuery: prefetch_related and a related manager's objects are not replayed.")
        if queryset.query.select_for_update or queryset._db is not None:  # type: ignore[attr-defined]
            raise TypeError(
                "PreparedQuery: select_for_update and using() are not replayed (rows(using=...) picks the database)."
            )
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()  # also sets the compiler's select, klass_info, annotation_col_map
        slots = []
        for name, kind in self.kinds.items():
            adapted = _adapt(name, kind, stand_ins[name], connection)
            places = [place for place, param in enumerate(params) if param == adapted]
            if len(places) != 1:
                raise ValueError(f"PreparedQuery: {name} is in the statement's parameters {len(places)} times, not 1.")
            slots.append((places[0], name, kind))
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        if compiler.has_composite_fields(fields):
            raise TypeError("PreparedQuery: a composite primary key is not replayed.")
        converters = compiler.get_converters(fields)
        return _Built(compiler, sql, tuple(params), tuple(slots), queryset._iterable_class, converters)

    def rows(self, *, using: str | None = None, **values: Any) -> list[Any]:
        if values.keys() != self.kinds.keys():
            raise TypeError(f"PreparedQuery takes {sorted(self.kinds)}, not {sorted(values)}.")
        using = using or router.db_for_read(self._model or self._model_read())
        built, connection = self._for(using), connections[using]
        params = list(built.params)
        for place, name, kind in built.slots:
            params[place] = _adapt(name, kind, values[name], connection)
        with connection.cursor() as cursor:
            cursor.execute(built.sql, params)
            fetched = cursor.fetchall()
        # As results_iter does, with the converters found once: looking them up cost more than the read.
        compiler = copy.copy(built.compiler)
        rows: Any = [row[: compiler.col_count] for row in fetched] if compiler.has_extra_select else fetched
        if built.converters:
            rows = compiler.apply_converters(rows, built.converters)
        if built.iterable is ModelIterable:
            return list(_instances(compiler, rows, using))
        if built.iterable is FlatValuesListIterable:
            return [row[0] for row in rows]
        return [tuple(row) for row in rows]  # selected in the order named (Query.selected)

    def first(self, *, using: str | None = None, **values: Any) -> Any:
        found = self.rows(using=using, **values)
        return found[0] if found else None

    def _model_read(self) -> type[Model]:
        self._model = self.build(**_stand_ins(self.kinds)).model
        return self._model


def _instances(compiler: SQLCompiler, rows: Any, using: str) -> Iterator[Model]:
    """The instances ModelIterable makes of these rows (no known related objects: refused above)."""
    select, klass_info, annotations = compiler.select, compiler.klass_info, compiler.annotation_col_map
    assert klass_info is not None  # a model query's
    model = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    attnames = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, using)
    for row in rows:
        instance = model.from_db(using, attnames, row[start:end])
        for populator in populators:
            populator.populate(row, instance)
        for name, position in (annotations or {}).items():
            setattr(instance, name, row[position])
        yield instance
