"""A long `field__in=[…]` sent to PostgreSQL as `field IN (SELECT unnest(%s::type[]))`: one array.

PostgreSQL plans `IN (%s, %s, … a thousand)`, and `= ANY(array)` alike, as a scan of the whole
table whose every row is compared with every value: 10-13 ms for a thousand ids or plates among
150,000 cars, against 2 ms to probe the index once per value of the unnested array. Every bulk
path (an import's batches, a bulk delete's collector, a prefetch, the inventory's sums over the
cars a call touched) passes such lists, so the lookup every path shares is changed, not each
caller. A short list stays an IN: it is planned well, and a partial index whose predicate names
the same values (the deliveries' statuses) is still used.

Only values PostgreSQL compares the same way as elements of an array take the array: integers
(as the column's own type: another makes the planner scan) and varchar or text without a
collation of its own (as text: a cast to varchar(n) would cut a longer value down to one that is
stored). Anything else, a subquery, an expression among the values, a column that is not a plain
one (composite keys), and the conditions of a table's constraints and indexes stay an IN.

On every database, a number past what an integer column holds is dropped from the list, as
Django's exact lookup does: no row can hold it, and the database would refuse it (SQLite cannot
bind it; PostgreSQL cannot cast it into the array). A foreign key's exact lookup does the same.
"""

from datetime import MAXYEAR, MINYEAR
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject, IntegerField
from django.db.models.fields.related_lookups import RelatedExact, RelatedIn
from django.db.models.functions import ExtractIsoYear, ExtractYear
from django.db.models.lookups import In, YearExact, YearGt, YearGte, YearLt, YearLte

LONG_LIST = 100
INTEGER_TYPES = frozenset(["smallint", "integer", "bigint"])


def array_type(field: Any, connection: Any) -> str | None:
    """The type of the PostgreSQL array the values of `field`'s column travel in; None: they do not."""
    db_type = field.db_type(connection) or ""
    if db_type.startswith("varchar") or db_type == "text":  # not citext and the like: they compare otherwise
        return None if getattr(field, "db_collation", None) else "text"
    return db_type if db_type in INTEGER_TYPES else None


def in_array_sql(column_sql: str, element_type: str) -> str:
    """`column_sql` among the values of one array parameter, probed by the column's index."""
    return f"{column_sql} IN (SELECT unnest(%s::{element_type}[]))"


class _InMechanism:
    def process_rhs(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        lookup: Any = self
        column = _integer_column(lookup.lhs)
        if column is not None and lookup.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(column.get_internal_type())
            lookup.rhs = [value for value in lookup.rhs if not isinstance(value, int) or low <= value <= high]
        return super().process_rhs(compiler, connection)  # type: ignore[misc]  # In's, mixed in below

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        lookup: Any = self
        column = getattr(lookup.lhs, "target", None)  # the compared column's field (a reverse relation's too)
        element_type = (
            array_type(column, connection)
            if column is not None
            and compiler.query.alias_cols  # not a table's constraint or index: those take no subquery
            and lookup.rhs_is_direct_value()
            and len(lookup.rhs) > LONG_LIST
            else None
        )
        if element_type is None:
            return lookup.as_sql(compiler, connection)
        rhs_sql, rhs_params = lookup.process_rhs(compiler, connection)  # drops None; EmptyResultSet if none left
        if rhs_sql != "(" + ", ".join(["%s"] * len(rhs_params)) + ")":
            return lookup.as_sql(compiler, connection)  # an expression among the values
        lhs_sql, lhs_params = lookup.process_lhs(compiler, connection)
        return in_array_sql(lhs_sql, element_type), (*lhs_params, list(rhs_params))


def _integer_column(lhs: Any) -> IntegerField | None:
    """The integer field whose column `lhs` is (a foreign key's: the key it points to), else None."""
    column = getattr(lhs, "target", None)
    if column is not None and column.is_relation:
        column = column.target_field
    return column if isinstance(column, IntegerField) else None


class ArrayIn(_InMechanism, In):
    pass


class RelatedArrayIn(_InMechanism, RelatedIn):
    pass


class RelatedExactInRange(RelatedExact):
    """A key compared with a number past what its column holds matches no row, as Django's own
    exact lookup of an integer column does: SQLite cannot bind such a number, and a filter given
    one (the admin's `?brand=99999999999999999999`) answered 500."""

    def process_rhs(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        column = _integer_column(self.lhs)
        if column is not None and isinstance(self.rhs, int) and not isinstance(self.rhs, bool):
            low, high = connection.ops.integer_field_range(column.get_internal_type())
            if not low <= self.rhs <= high:
                raise EmptyResultSet
        return super().process_rhs(compiler, connection)


class _CalendarYear:
    """A date's year compared by the bounds of that year (Django's YearLookup), refused when the
    lookup is made unless both bounds exist in every time zone: 2 to 9998. Year 0 or 10000 has no
    dates; the last moment of 9999 in Chicago is in 10000 in UTC, the first of year 1 in Kolkata in
    year 0, and the ISO year 9999 ends in 10000. Each bound failed when the query was compiled, a
    500 where a caller such as the admin's list filters says a bad parameter when the lookup is made."""

    def get_prep_lookup(self) -> Any:
        year = super().get_prep_lookup()  # type: ignore[misc]
        if self.rhs_is_direct_value() and not MINYEAR < int(year) < MAXYEAR:  # type: ignore[attr-defined]
            raise ValueError(f"{year}: a year from {MINYEAR + 1} to {MAXYEAR - 1} is looked up.")
        return year


CALENDAR_YEAR_LOOKUPS = [
    type(f"Calendar{lookup.__name__}", (_CalendarYear, lookup), {})
    for lookup in (YearExact, YearGt, YearGte, YearLt, YearLte)
]


def register() -> None:
    Field.register_lookup(ArrayIn)
    ForeignObject.register_lookup(RelatedArrayIn)
    ForeignObject.register_lookup(RelatedExactInRange)
    for transform in (ExtractYear, ExtractIsoYear):
        for lookup in CALENDAR_YEAR_LOOKUPS:
            transform.register_lookup(lookup)
