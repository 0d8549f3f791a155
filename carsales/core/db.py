"""Small database helpers shared by the apps that keep running figures."""

from collections.abc import Collection, Sequence
from typing import Any, TypeVar, cast

from django.db import connections, router, transaction
from django.db.models import BooleanField, CharField, ExpressionWrapper, F, Field, Model, TextField
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery, UpdateQuery

# Ids bound in one statement by the helpers that take many: below the oldest SQLite's limit on
# bound parameters (999, Django's max_query_params there), with room for a row's other values.
IDS_PER_STATEMENT = 900

M = TypeVar("M", bound=Model)


def update_seeding_row(model: type[Model], *, lookup: dict[str, Any], changes: dict[str, Any]) -> None:
    """UPDATE the row matching `lookup` with `changes` (F() expressions), creating it on first use.

    The common case is a single UPDATE, which also takes the row lock that serialises concurrent
    writers. Only when no row exists yet is it created (a creation race inserts it once) and the
    update repeated.
    """
    rows = model._default_manager.filter(**lookup)
    if not rows.update(**changes):
        insert_unless_duplicate(model(**lookup))
        rows.update(**changes)


# Statements the ORM built, kept for those run on every save (on SQLite the building costs more
# than the statement): keyed by what decides the text (model, database, fields), never by a value
# that varies, so they are few.
_built: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def bump_seeding_row(model: type[Model], *, lookup: dict[str, Any], column: str) -> None:
    """update_seeding_row(model, lookup=lookup, changes={column: F(column) + 1}), its UPDATE built
    by the ORM once per database and lookup: a counter moved by every write costs the statement only."""
    using = router.db_for_write(model)
    key = ("bump", model, using, tuple(sorted(lookup.items())), column)
    if key not in _built:
        query = cast(UpdateQuery, model._default_manager.filter(**lookup).query.chain(UpdateQuery))
        query.add_update_values({column: F(column) + 1})
        sql, params = query.get_compiler(using=using).as_sql()
        _built[key] = (sql, tuple(params))
    sql, params = _built[key]
    for _attempt in range(2):
        # As QuerySet.update: an error marks the transaction, so a caller that catches it cannot commit.
        with transaction.mark_for_rollback_on_error(using), connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.rowcount:
                return
        insert_unless_duplicate(model(**lookup))  # the first bump ever: seed the row
    raise RuntimeError(f"The {model._meta.label} row {lookup} is missing and could not be created.")


def insert_unless_duplicate(instance: Model) -> bool:
    """INSERT `instance`; return False, writing nothing, when a unique constraint already holds
    its twin (a repeated signal, a redelivery).

    One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING pk): no savepoint around an INSERT
    whose IntegrityError is caught, so it costs nothing extra inside the caller's transaction.
    Like bulk_create, it sends no model signals: for append-only records no receiver observes.
    """
    using, insert, params = _insert_sql(instance, unless_duplicate=True)
    with transaction.mark_for_rollback_on_error(using), connections[using].cursor() as cursor:
        cursor.execute(insert, params)
        row = cursor.fetchone()
    if row is None:
        return False
    _inserted(instance, pk=row[0], using=using)
    return True


def insert_unless_duplicate_then_update(
    instance: Model, *, seeding: type[Model], lookup: dict[str, Any], changes: dict[str, Any]
) -> bool:
    """insert_unless_duplicate(instance), then, if it was new, update_seeding_row(seeding, ...):
    a record and the running figures it moves. Returns whether the record was new.

    On PostgreSQL one statement in the common case (the INSERT and the UPDATE it gates in one
    WITH); elsewhere, and on the first record of a figures row, the two calls.
    """
    using, insert, insert_params = _insert_sql(instance, unless_duplicate=True)
    connection = connections[using]
    if connection.vendor != "postgresql":
        if not insert_unless_duplicate(instance):
            return False
        update_seeding_row(seeding, lookup=lookup, changes=changes)
        return True
    # The UPDATE moves the figures only when the INSERT recorded something (a CTE's rows).
    recorded = ExpressionWrapper(RawSQL("EXISTS (SELECT 1 FROM recorded)", []), output_field=BooleanField())
    rows = seeding._default_manager.using(using).filter(recorded, **lookup)
    query = cast(UpdateQuery, rows.query.chain(UpdateQuery))
    query.add_update_values(changes)
    update, update_params = query.get_compiler(using=using).as_sql()
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(
            f"WITH recorded AS ({insert}), moved AS ({update} RETURNING 1) "
            "SELECT (SELECT max(pk) FROM recorded), (SELECT count(*) FROM moved)",
            [*insert_params, *update_params],
        )
        pk, moved = cursor.fetchone()
    if pk is None:
        return False
    _inserted(instance, pk=pk, using=using)
    if not moved:  # the figures' first record: their row is made, then moved
        update_seeding_row(seeding, lookup=lookup, changes=changes)
    return True


def _insert_sql(instance: Model, *, unless_duplicate: bool) -> tuple[str, str, list[Any]]:
    """The INSERT of `instance` returning its pk (ignoring a duplicate when `unless_duplicate`):
    (database, SQL, values). The text is built by the ORM once per model, database and kind; the
    values adapted as the ORM adapts them."""
    model = type(instance)
    meta = instance._meta
    fields = [field for field in meta.local_concrete_fields if not (field.primary_key and instance.pk is None)]
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    key = ("insert", model, using, instance.pk is None, unless_duplicate)
    if key in _built:
        values = [(field, field.pre_save(instance, True)) for field in fields]
        if not any(hasattr(value, "resolve_expression") for _field, value in values):
            return using, _built[key][0], [field.get_db_prep_save(value, connection) for field, value in values]
    query = InsertQuery(model)
    query.insert_values(fields, [instance])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [meta.pk]
    ((sql, params),) = compiler.as_sql()
    if unless_duplicate:
        # Not Django's ignore_conflicts: on SQLite that is INSERT OR IGNORE, which also drops a row
        # breaking a NOT NULL or CHECK constraint. ON CONFLICT ignores a duplicate only (both databases).
        insert, returning = sql.rsplit(" RETURNING ", 1)
        sql = f"{insert} ON CONFLICT DO NOTHING RETURNING {returning} AS pk"
    # Built from plain values, each field one placeholder (none of its own, which may vary with the
    # value): the text fits any row of the model.
    plain = not any(hasattr(getattr(instance, field.attname), "resolve_expression") for field in fields)
    if plain and not any(hasattr(field, "get_placeholder") for field in fields):
        _built[key] = (sql, ())
    return using, sql, list(params)


def insert_row(instance: M) -> M:
    """INSERT `instance` (an append-only record) in one statement and return it with its pk. Like
    bulk_create, it sends no model signals: for such records no receiver observes."""
    using, insert, params = _insert_sql(instance, unless_duplicate=False)
    with transaction.mark_for_rollback_on_error(using), connections[using].cursor() as cursor:
        cursor.execute(insert, params)
        _inserted(instance, pk=cursor.fetchone()[0], using=using)
    return instance


def _inserted(instance: Model, *, pk: Any, using: str) -> None:
    instance.pk = pk
    instance._state.adding, instance._state.db = False, using


def insert_select(
    model: type[Model], *, values: dict[str, Any], source: str, where: str, params: Sequence[Any], using: str
) -> int:
    """INSERT INTO `model` rows the database makes from rows it holds, in one statement (no row
    travels to Python and back); returns how many.

    `values` maps each field to set to an SQL expression over `source` (a FROM clause), or to a
    Python value, adapted as that field adapts it. `where` and `params` pick the source rows.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    columns, expressions, value_params = [], [], []
    for name, value in values.items():
        field = cast(Field, model._meta.get_field(name))  # a concrete field: the model's own column
        columns.append(quote(field.column))
        if isinstance(value, RawSQL):
            if value.params:
                raise ValueError(f"insert_select: pass {name}'s parameters as values of their own, not in its SQL.")
            expressions.append(value.sql)
        else:
            expressions.append("%s")
            value_params.append(field.get_db_prep_save(value, connection))
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
            f"SELECT {', '.join(expressions)} FROM {source} WHERE {where}",
            [*value_params, *params],
        )
        return cursor.rowcount


def values_stored(model: type[Model], name: str, values: Collection[Any]) -> set[Any]:
    """Which of `values` rows of `model` hold in field `name` (an indexed column), in one statement
    whatever their number. On PostgreSQL they travel as one array the index is probed with: a long
    IN list is planned as a scan of the whole table (a thousand plates among 100,000 cars: 13 ms
    scanned, 2.5 ms by the index), which would make a large import slower with every batch."""
    if not values:
        return set()
    rows = model._default_manager.all()
    connection = connections[rows.db]
    if connection.vendor == "postgresql":
        field = cast(Field, model._meta.get_field(name))
        # Text as text: a cast to varchar(n) would cut a longer value down to one that is stored.
        column_type = "text" if isinstance(field, CharField | TextField) else field.db_type(connection)
        return set(
            rows.filter(**{f"{name}__in": RawSQL(f"SELECT unnest(%s::{column_type}[])", [list(values)])}).values_list(
                name, flat=True
            )
        )
    return set(rows.filter(**{f"{name}__in": values}).values_list(name, flat=True))
