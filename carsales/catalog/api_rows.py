"""The API's car list read as rows: each car as its serializer writes it, from the columns its
fields read, with no instance made and no field dispatched one by one.

An uncached page of `/api/cars/` spent most of its time in the ORM and DRF, not the database:
each request built and compiled its query (the brand's join, the price drop's subquery) and its
count, made forty instances, and had DRF read twenty-seven fields of each through their generic
attribute lookup. A list whose query names no filter (the catalogue as a kind of reader sees it,
a page at a time) is read here instead: its count and each page shape by statements built once
(core.prepared), each column written as its field writes it. DRF still pages it (its paginator
counts and slices `CarRows` as it would the queryset: its page size, its 404 past the last page)
and renders it: the bytes are those DRF makes of the queryset (tests/test_api_rows.py compares
them for every kind of reader, page and car).
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from django.db.models import Func, IntegerField
from rest_framework import serializers
from rest_framework.request import Request

from carsales.core.prepared import PreparedQuery

from .selectors import car_catalogue, price_drop_cutoff

# Each kind of field as its to_representation writes what the database gave: these as given.
_AS_GIVEN = (serializers.CharField.to_representation, serializers.IntegerField.to_representation)
GIVEN, WRITTEN, FILE, METHOD = "given", "written", "file", "method"
# Fields not written from one column as their kind writes it: refused when a writer is built.
_NOT_ONE_COLUMN = (serializers.RelatedField, serializers.BaseSerializer, serializers.ListField, serializers.FileField)


@dataclass(frozen=True)
class _Field:
    name: str  # its key in the car's representation
    # GIVEN: the column's value; WRITTEN: by `write` (None stays None); FILE: its URL (`write`: the
    # storage's url); METHOD: `write(*columns)`.
    kind: str
    column: int  # the row's column it is written from (METHOD: the first of `columns`)
    write: Callable[..., Any] | None = None
    columns: tuple[int, ...] = ()
    # A DateTimeField following the current time zone: written by a copy set to the zone of the
    # call (what each of its writes would look up again).
    zoned: serializers.DateTimeField | None = None

    def writer(self) -> Callable[..., Any] | None:
        if self.zoned is None:
            return self.write
        in_zone = copy.copy(self.zoned)
        in_zone.timezone = self.zoned.default_timezone()  # type: ignore[assignment]
        return in_zone.to_representation


class CarRowWriter:
    """What a ModelSerializer class (CarSerializer) writes of a car, from a row of `columns`: built
    once per class from its fields; a field it cannot write from columns is refused when built.
    A SerializerMethodField is written by the class's `method_fields_from_columns[name]`: the
    columns it reads and the function writing them; the class's `reads_identity_whole` and
    `identity_masked` have the last word."""

    def __init__(self, serializer_class: Any) -> None:
        self.serializer_class = serializer_class
        model = serializer_class.Meta.model
        from_columns = getattr(serializer_class, "method_fields_from_columns", {})
        columns: list[str] = []

        def read(name: str) -> int:
            if name not in columns:
                columns.append(name)
            return columns.index(name)

        self.fields: list[_Field] = []
        # A serializer made without a request: what these fields write depends on the value alone.
        # Its readable fields, as DRF writes them: never a write-only one.
        for field in serializer_class()._readable_fields:
            name, source = field.field_name, "__".join(field.source_attrs)
            if isinstance(field, serializers.SerializerMethodField):
                if name not in from_columns:
                    raise TypeError(f"{serializer_class.__name__}.{name}: not in method_fields_from_columns.")
                names, write = from_columns[name]
                reads = tuple(read(column) for column in names)
                self.fields.append(_Field(name, METHOD, reads[0], write, reads))
            elif _writes_as(field, serializers.SlugRelatedField):
                self.fields.append(_Field(name, GIVEN, read(f"{source}__{field.slug_field}")))
            elif _writes_as(field, serializers.FileField) and getattr(field, "use_url", True):
                self.fields.append(_Field(name, FILE, read(source), model._meta.get_field(source).storage.url))
            elif isinstance(field, _NOT_ONE_COLUMN):
                raise TypeError(f"{serializer_class.__name__}.{name}: a {type(field).__name__} is not one column.")
            elif type(field).to_representation in _AS_GIVEN or _choices_as_given(field):
                self.fields.append(_Field(name, GIVEN, read(source)))
            else:
                follows_zone = isinstance(field, serializers.DateTimeField) and not hasattr(field, "timezone")
                zoned = field if follows_zone else None
                self.fields.append(_Field(name, WRITTEN, read(source), field.to_representation, zoned=zoned))
        self.plate, self.vin = read("plate"), read("vin")
        self.columns = tuple(columns)
        # Every field's column in the fields' order, made a car in one step; then those not given
        # as read are written in place (a dict keeps a key where it was first set).
        self.names = tuple(field.name for field in self.fields)
        self.in_order = itemgetter(*(field.column for field in self.fields))

    def written(self, rows: list[tuple[Any, ...]], request: Request) -> list[dict[str, Any]]:
        names, in_order = self.names, self.in_order
        plan = [
            (field.name, field.kind, field.column, field.writer(), field.columns)
            for field in self.fields
            if field.kind != GIVEN
        ]
        # Who reads is asked once a page, not once a car.
        masked = None if self.serializer_class.reads_identity_whole(request) else self.serializer_class.identity_masked
        plate, vin = self.plate, self.vin
        cars = []
        for row in rows:
            car: dict[str, Any] = dict(zip(names, in_order(row), strict=True))
            for name, kind, column, write, columns in plan:
                value = row[column]
                if kind == WRITTEN:
                    car[name] = None if value is None else write(value)  # type: ignore[misc]
                elif kind == FILE:  # as DRF's FileField: null without a file, else its URL made absolute
                    car[name] = request.build_absolute_uri(write(value)) if value else None  # type: ignore[misc]
                else:
                    car[name] = write(*(row[i] for i in columns))  # type: ignore[misc]
            if masked is not None:
                masked(car, row[plate], row[vin])
            cars.append(car)
        return cars


def _writes_as(field: serializers.Field, kind: type[serializers.Field]) -> bool:
    """A field of `kind` that writes a value as `kind` does (not a subclass writing it otherwise)."""
    return isinstance(field, kind) and type(field).to_representation is kind.to_representation


def _choices_as_given(field: serializers.Field) -> bool:
    """A ChoiceField writing each stored choice as itself: choices of text, each its own key."""
    if type(field).to_representation is not serializers.ChoiceField.to_representation:
        return False
    mapping = field.choice_strings_to_values  # type: ignore[attr-defined]
    return all(isinstance(value, str) and key == value for key, value in mapping.items())


@cache
def row_writer(serializer_class: Any) -> CarRowWriter:
    return CarRowWriter(serializer_class)


class _CountAll(Func):
    """COUNT(*) of the rows the query's WHERE keeps, as the query's one column: a function, not an
    aggregate, so values_list groups nothing."""

    template = "COUNT(*)"
    output_field = IntegerField()


class CarRows:
    """The catalogue a kind of reader sees, as rows of `columns`, for DRF's paginator: `count()`
    and a slice read as a queryset's would be, each by a statement built once per shape."""

    def __init__(self, *, include_unavailable: bool, columns: tuple[str, ...]) -> None:
        self.include_unavailable, self.columns = include_unavailable, columns

    def count(self) -> int:
        return _counted(self.include_unavailable).rows()[0]

    def __getitem__(self, window: slice) -> list[tuple[Any, ...]]:
        start = window.start or 0
        if window.stop is not None and window.stop <= start:
            return []  # the first page of none: a query of no rows, which the ORM never sends
        page = _page(self.include_unavailable, self.columns, start, window.stop)
        return page.rows(price_drop_since=price_drop_cutoff())


@cache
def _counted(include_unavailable: bool) -> PreparedQuery:
    def build() -> Any:
        cars = car_catalogue(include_unavailable=include_unavailable)
        return cars.order_by().values_list(_CountAll(), flat=True)

    return PreparedQuery(build)


# One statement per page shape (reader kind, first row, page size): the pages readers ask for.
@lru_cache(maxsize=256)
def _page(include_unavailable: bool, columns: tuple[str, ...], start: int, stop: int) -> PreparedQuery:
    def build(price_drop_since: datetime) -> Any:
        cars = car_catalogue(include_unavailable=include_unavailable, price_drop_since=price_drop_since)
        return cars.values_list(*columns)[start:stop]

    return PreparedQuery(build, price_drop_since=datetime)
