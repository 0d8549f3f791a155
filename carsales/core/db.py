"""Small database helpers shared by the apps that keep running figures."""

from collections.abc import Callable, Collection, Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from django.db import connections, router, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Field, Model
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery, UpdateQuery

from .lookups import LONG_LIST, array_type, in_array_sql

# Ids bound in one statement by the helpers that take many: below the oldest SQLite's limit on
# bound parameters (999, Django's max_query_params there), with room for a row's other values.
IDS_PER_STATEMENT = 900

M = TypeVar("M", bound=Model)
# A write: its statement, its parameters, and what to call with the value it returned.
_Write = tuple[str, Sequence[Any], Callable[[Any], None] | None]


class _OneRoundTrip:
    """The writes of one model save that nobody reads before the save ends (derived data: a
    counter, a history row, an audit entry), sent as one statement on PostgreSQL: a WITH of
    data-modifying statements, one round trip instead of one each.

    An execute wrapper: any other statement on the connection meanwhile (a read, the row's own
    INSERT, a savepoint) sends what is pending first, so every statement sees what was written
    before it, in the order it was written. A write made under a savepoint or a wrapper opened
    after this one (a DomainSignal receiver that may fail alone) is run at once instead, under it.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.savepoints = _savepoints(connection)
        self.pending: list[_Write] = []
        self.rows: set[Hashable] = set()  # PostgreSQL applies one update of a row per statement
        # Raised again as the save ends: whoever ran the statement that sent the writes may have
        # caught it as its own error, but it is the save's.
        self.failure: Exception | None = None

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.pending:
            self.send()
        return execute(sql, params, many, context)

    def takes(self, row: Hashable | None) -> bool:
        """Whether a write made now can wait for the others: nothing opened since, and no write of `row` pending."""
        connection = self.connection
        if connection.execute_wrappers[-1] is not self or _savepoints(connection) != self.savepoints:
            return False
        if row is not None and row in self.rows:
            self.send()
        return True

    def add(self, write: _Write, row: Hashable | None) -> None:
        self.pending.append(write)
        if row is not None:
            self.rows.add(row)

    def send(self) -> None:
        pending, self.pending, self.rows = self.pending, [], set()
        wrappers = self.connection.execute_wrappers
        # Sent beneath this wrapper only, with what follows from it (a row made on first use): not
        # into a savepoint a later wrapper is about to open.
        self.connection.execute_wrappers = wrappers[: wrappers.index(self)]
        try:
            values = _run(self.connection, pending)
            for (_statement, _params, then), value in zip(pending, values, strict=True):
                if then is not None:
                    then(value)
        except Exception as error:
            self.failure = self.failure or error
            raise
        finally:
            self.connection.execute_wrappers = wrappers


def _savepoints(connection: Any) -> int:
    # An atomic block opened without a savepoint holds None: its writes still join the round trip.
    return sum(sid is not None for sid in connection.savepoint_ids)


def _run(connection: Any, writes: Sequence[_Write]) -> list[Any]:
    """Run `writes` as one statement; return the first value each returned (None: no row)."""
    alone = len(writes) == 1  # one statement: sent as it is, no WITH
    if alone:
        sql, params = writes[0][0], list(writes[0][1])
    else:
        if connection.vendor != "postgresql":
            raise ValueError("Writes sent in one statement need PostgreSQL's WITH.")
        parts, params, lasts = [], [], []
        for number, (statement, values, _then) in enumerate(writes):
            parts.append(f"w{number} AS ({statement})")
            lasts.append(f"(SELECT * FROM w{number} LIMIT 1)")
            params.extend(values)
        sql = f"WITH {', '.join(parts)} SELECT {', '.join(lasts)}"
    # As the ORM's writes: an error marks the transaction, so a caller that catches it cannot commit.
    with transaction.mark_for_rollback_on_error(connection.alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if alone:
        return [row[0] if row else None]
    return list(row)


@contextmanager
def one_round_trip(using: str) -> Iterator[None]:
    """Send the writes made by write_soon inside this block as one statement on PostgreSQL,
    before the next other statement or at the end of the block; elsewhere each runs at once.
    Opened by the model saves for their receivers' derived data. Inside a transaction only:
    pending writes are dropped with an exception, which fails the transaction they belong to."""
    connection = connections[using]
    wrappers = connection.execute_wrappers
    if (
        connection.vendor != "postgresql"
        or not connection.in_atomic_block
        # Joined by a save inside another's; none inside a receiver that may fail alone, whose
        # savepoint (opened at its first statement) must come before anything it writes.
        or any(isinstance(wrapper, _OneRoundTrip) or getattr(wrapper, "opens_savepoint", False) for wrapper in wrappers)
    ):
        yield
        return
    batch = _OneRoundTrip(connection)
    wrappers.append(batch)
    try:
        yield
        if batch.pending:
            batch.send()
        if batch.failure is not None:
            raise batch.failure
    finally:
        connection.execute_wrappers.remove(batch)


def send_pending(connection: Any) -> None:
    """Send what a save's round trip holds now: before a receiver that may fail alone opens its
    savepoint (DomainSignal.send_robust), so a failure of the save's writes is the save's."""
    for wrapper in connection.execute_wrappers:
        if isinstance(wrapper, _OneRoundTrip) and wrapper.pending:
            wrapper.send()


def write_soon(
    using: str,
    statement: str,
    params: Sequence[Any],
    *,
    then: Callable[[Any], None] | None = None,
    row: Hashable | None = None,
) -> None:
    """Run a write whose outcome nobody reads before the save around it ends: in that save's
    one round trip (see one_round_trip), else at once. `statement` ends with a RETURNING of one
    column. `then` is called with the first value returned (None when no row was), once it ran. `row`
    names the row an UPDATE writes, which one statement may write once only."""
    connection = connections[using]
    batch = next((wrapper for wrapper in connection.execute_wrappers if isinstance(wrapper, _OneRoundTrip)), None)
    if batch is not None and batch.takes(row):
        batch.add((statement, params, then), row)
        return
    (value,) = _run(connection, [(statement, params, then)])
    if then is not None:
        then(value)


def serialize_on(key: str, *, using: str = "default") -> None:
    """Make the transaction around wait, until it ends, for any other that called this with `key`:
    a check-then-insert on a value no unique constraint covers (an email address, a name in any
    case) runs one at a time per value. PostgreSQL: an advisory transaction lock. SQLite needs
    none: its write transactions already run one at a time (BEGIN IMMEDIATE)."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("serialize_on holds its lock until the transaction ends: call it inside one.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


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
    by the ORM once per database and lookup: a counter moved by every write costs the statement
    only, and joins a save's one round trip (write_soon)."""
    using = router.db_for_write(model)
    key = ("bump", model, using, tuple(sorted(lookup.items())), column)
    if key not in _built:
        query = cast(UpdateQuery, model._default_manager.filter(**lookup).query.chain(UpdateQuery))
        query.add_update_values({column: F(column) + 1})
        sql, params = query.get_compiler(using=using).as_sql()
        _built[key] = (f"{sql} RETURNING 1", tuple(params))
    sql, params = _built[key]

    def seeded_if_missing(moved: Any) -> None:
        if moved is None:  # the first bump ever: seed the row, then bump it
            insert_unless_duplicate(model(**lookup))
            (again,) = _run(connections[using], [(sql, params, None)])
            if again is None:
                raise RuntimeError(f"The {model._meta.label} row {lookup} is missing and could not be created.")

    write_soon(using, sql, params, then=seeded_if_missing, row=key)


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


def insert_soon(instance: Model, *, unless_duplicate: bool = False) -> None:
    """insert_row or insert_unless_duplicate for a record nobody reads before the save around it
    ends: it joins that save's one round trip (write_soon). Its pk is set once it is written."""
    using, insert, params = _insert_sql(instance, unless_duplicate=unless_duplicate)

    def written(pk: Any) -> None:
        if pk is not None:
            _inserted(instance, pk=pk, using=using)

    write_soon(using, insert, params, then=written)


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
    whatever their number (on PostgreSQL one array the index is probed with: core.lookups)."""
    if not values:
        return set()
    return set(model._default_manager.filter(**{f"{name}__in": values}).values_list(name, flat=True))


def pks_in(model: type[Model], column: str, pks: Sequence[Any], using: str) -> tuple[str, list[Any]]:
    """`column IN (pks)` (`model`'s primary keys) for hand-written SQL, and its parameters: on
    PostgreSQL a long list is one array whose values probe the index (core.lookups says why)."""
    connection = connections[using]
    long_list = connection.vendor == "postgresql" and len(pks) > LONG_LIST
    element_type = array_type(model._meta.pk, connection) if long_list else None
    if element_type is not None:
        return in_array_sql(column, element_type), [list(pks)]
    return f"{column} IN ({', '.join(['%s'] * len(pks))})", list(pks)
