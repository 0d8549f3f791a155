"""Small database helpers shared by the apps that keep running figures."""

from typing import Any

from django.db import connections, router
from django.db.models import Model
from django.db.models.sql import InsertQuery


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


def insert_unless_duplicate(instance: Model) -> bool:
    """INSERT `instance`; return False, writing nothing, when a unique constraint already holds
    its twin (a repeated signal, a redelivery).

    One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING pk): no savepoint around an INSERT
    whose IntegrityError is caught, so it costs nothing extra inside the caller's transaction.
    Like bulk_create, it sends no model signals: for append-only records no receiver observes.
    """
    model = type(instance)
    meta = instance._meta
    fields = [field for field in meta.local_concrete_fields if not (field.primary_key and instance.pk is None)]
    query = InsertQuery(model)
    query.insert_values(fields, [instance])
    using = router.db_for_write(model, instance=instance)
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [meta.pk]
    ((sql, params),) = compiler.as_sql()
    # Not Django's ignore_conflicts: on SQLite that is INSERT OR IGNORE, which also drops a row
    # breaking a NOT NULL or CHECK constraint. ON CONFLICT ignores a duplicate only (both databases).
    insert, returning = sql.rsplit(" RETURNING ", 1)
    with connections[using].cursor() as cursor:
        cursor.execute(f"{insert} ON CONFLICT DO NOTHING RETURNING {returning}", params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, using
    return True
