"""Every index on the project's tables earns its writes: none is a leading part of another.

An index on (car) beside one on (car, position, id) answers no lookup the second does not, and
costs every insert, update and delete of the table one more entry to maintain (a foreign key's
automatic index beside a composite index or unique constraint that leads with that key; on
PostgreSQL, the LIKE-prefix copy that unique=True builds for a text column, where no query
searches by prefix: a UniqueConstraint builds none). An index whose columns go in another
order (descending, or NULL first) serves other orderings, so it leads only an index read the same
way, forwards or backwards. Checked on the schema the database holds, on every database the suite
runs on.
"""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class StoredIndex:
    name: str
    columns: tuple[str, ...]
    unique: bool
    partial: bool  # covers only the rows its condition admits
    # How each column is ordered, as (descending, NULL first); None for every column ascending
    # with the database's own place for NULL.
    orders: tuple[tuple[bool, bool], ...] | None = None

    def ordered(self) -> tuple[tuple[bool, bool], ...]:
        return self.orders or tuple((False, connection.vendor == "sqlite") for _ in self.columns)

    def read_backwards(self) -> tuple[tuple[bool, bool], ...]:
        return tuple((not descending, not nulls_first) for descending, nulls_first in self.ordered())


def _column_orders(table: str) -> dict[str, tuple[tuple[bool, bool], ...]]:
    """Each index's column orders; SQLite sorts NULL first going up and declares no other place."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # indoption per column: bit 1 descending, bit 2 NULLS FIRST.
            cursor.execute(
                "SELECT c.relname, i.indoption::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass",
                [connection.ops.quote_name(table)],
            )
            return {
                name: tuple((bool(int(o) & 1), bool(int(o) & 2)) for o in options.split())
                for name, options in cursor.fetchall()
            }
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name: tuple((order == "DESC", order != "DESC") for order in found["orders"])
        for name, found in constraints.items()
        if found.get("orders")
    }


def _partial_index_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND i.indpred IS NOT NULL",
                [connection.ops.quote_name(table)],
            )
            return {name for (name,) in cursor.fetchall()}
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
        return {name for name, sql in cursor.fetchall() if sql and " WHERE " in sql.upper()}


def _btree_indexes(table: str) -> list[StoredIndex]:
    """The table's ordinary (b-tree) indexes, unique constraints included; not its primary key."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    partial = _partial_index_names(table)
    orders = _column_orders(table)
    return [
        StoredIndex(name, tuple(found["columns"]), bool(found["unique"]), name in partial, orders.get(name))
        for name, found in constraints.items()
        if (found["index"] or found["unique"])
        and not found["primary_key"]
        and found["columns"]
        and found.get("type") in (None, "idx", "btree")
    ]


def _redundant(indexes: list[StoredIndex]) -> list[str]:
    """Non-unique indexes whose columns, ordered alike, lead another index that covers every row."""
    found = []
    for index in indexes:
        if index.unique or index.partial:
            continue  # a unique index enforces something; a partial one is smaller by design
        for other in indexes:
            width = len(index.columns)
            same_way = other.ordered()[:width] in (index.ordered(), index.read_backwards())
            leads = other.columns[:width] == index.columns and same_way
            if other is not index and not other.partial and leads and len(other.columns) >= len(index.columns):
                found.append(f"{index.name} {index.columns} is led by {other.name} {other.columns}")
                break
    return found


def test_no_index_on_a_project_table_is_the_leading_part_of_another():
    tables = {
        model._meta.db_table
        for config in apps.get_app_configs()
        if config.name.startswith("carsales.")
        for model in config.get_models()
        if model._meta.managed and not model._meta.proxy
    }
    redundant = [f"{table}: {line}" for table in sorted(tables) for line in _redundant(_btree_indexes(table))]

    assert redundant == [], "\n".join(redundant)


def test_the_check_finds_a_foreign_keys_index_beside_a_composite_that_leads_with_it():
    indexes = [
        StoredIndex("photo_car", ("car_id",), unique=False, partial=False),
        StoredIndex("photo_order", ("car_id", "position", "id"), unique=False, partial=False),
        StoredIndex("live_line", ("car_id",), unique=True, partial=True),
        StoredIndex("by_day", ("day",), unique=False, partial=False),
        StoredIndex("dead", ("created_at",), unique=False, partial=True),
        StoredIndex("created", ("created_at",), unique=False, partial=False),
    ]

    assert _redundant(indexes) == ["photo_car ('car_id',) is led by photo_order ('car_id', 'position', 'id')"]


def test_the_check_tells_indexes_apart_by_how_their_columns_are_ordered():
    up, down, nulls_first = (False, False), (True, True), (False, True)
    indexes = [
        StoredIndex("by_value", ("value", "id"), unique=False, partial=False, orders=(up, up)),
        StoredIndex("by_value_nulls_first", ("value", "id"), unique=False, partial=False, orders=(nulls_first, up)),
        StoredIndex("value_down", ("value",), unique=False, partial=False, orders=(down,)),
    ]

    # Read backwards, (value, id) is (value DESC NULLS FIRST, id DESC): it serves what value_down does.
    assert _redundant(indexes) == ["value_down ('value',) is led by by_value ('value', 'id')"]
