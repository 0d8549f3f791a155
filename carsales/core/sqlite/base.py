"""Django's SQLite backend, waiting for the write lock in short steps instead of SQLite's backoff.

SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100, 100… ms between
tries. A connection that has waited 50 ms looks at the lock only every 25 to 100 ms, and a busy
writer (checkouts one after another) takes it again in each gap: the waiter starves for seconds
(a worker's confirmation email 3 s late at 50 orders a second in `make bench`). Here SQLite does
not wait at all; a statement that finds the lock taken is tried again every millisecond until
the database's `timeout` has passed, so the lock goes to whoever asks soon after it frees.

Only single statements outside a transaction are retried (BEGIN among them; never executemany, whose
rows commit one by one there, so a retry would write the first ones twice): SQLite leaves them without
effect when busy. Inside a transaction nothing waits for the lock: every transaction is BEGIN
IMMEDIATE (settings), which takes the write lock before its first statement, and WAL readers take
none. A database set up otherwise (another journal mode, deferred transactions) keeps SQLite's own
wait, which is the only one that can save a statement inside a transaction.
"""

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from django.db.backends.sqlite3 import base, operations, schema

from carsales.core.text import upper_per_letter

RETRY_EVERY = 0.001  # seconds


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    """Django makes most changes to a table on SQLite by building it anew (a new table, a copy, a
    rename), which drops the triggers on it and fails on another table's trigger naming it (the
    migrations' checks: a live order line's car, the inventory's snapshot). Those triggers are
    set aside before and made again after, as SQLite stored them."""

    def _remake_table(self, model: Any, *args: Any, **kwargs: Any) -> None:
        table = model._meta.db_table
        with self.connection.cursor() as cursor:
            # LIKE may also match a table whose name contains this one: such a trigger is only made again.
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND (tbl_name = %s OR sql LIKE %s)",
                [table, f"%{table}%"],
            )
            triggers = cursor.fetchall()
        for name, _sql in triggers:
            self.execute(f"DROP TRIGGER {self.quote_name(name)}", None)
        super()._remake_table(model, *args, **kwargs)  # type: ignore[misc]  # not in django-stubs
        for _name, sql in triggers:
            self.execute(sql, None)


class DatabaseOperations(operations.DatabaseOperations):
    """`iexact` ignoring the case of every letter, as PostgreSQL does (in a Unicode locale: see
    docs/deployment.md): SQLite's LIKE, Django's `iexact` there, folds A to Z only, so "Élodie"
    and "élodie" were two user names. A Python function: no index serves it."""

    def lookup_cast(self, lookup_type: str, internal_type: str | None = None) -> str:
        return f"{_UPPER}(%s)" if lookup_type == "iexact" else super().lookup_cast(lookup_type, internal_type)

    def prep_for_iexact_query(self, x: str) -> str:
        return x  # compared with =, not LIKE: nothing to escape


_UPPER = "carsales_upper"


class DatabaseWrapper(base.DatabaseWrapper):
    transaction_mode: str | None  # set by Django from OPTIONS; django-stubs does not declare it
    SchemaEditorClass = DatabaseSchemaEditor
    ops_class = DatabaseOperations
    operators = {**base.DatabaseWrapper.operators, "iexact": f"= {_UPPER}(%s)"}

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        # The setup statements (PRAGMA journal_mode=WAL among them) wait in SQLite as usual.
        connection = super().get_new_connection(conn_params)
        connection.create_function(_UPPER, 1, upper_per_letter, deterministic=True)
        journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if journal_mode.lower() == "wal" and self.transaction_mode == "IMMEDIATE":
            connection.execute("PRAGMA busy_timeout = 0")
            self.lock_timeout = conn_params.get("timeout", 5.0)
        else:
            self.lock_timeout = 0.0
        return connection

    def create_cursor(self, name: str | None = None) -> "RetryingCursor":
        cursor = self.connection.cursor(factory=RetryingCursor)
        cursor.lock_timeout = self.lock_timeout
        return cursor


class RetryingCursor(base.SQLiteCursorWrapper):
    lock_timeout = 5.0

    def execute(self, query: str, params: Any = None) -> Any:
        return self._retried(super().execute, query, params)

    def _retried(self, statement: Callable[[str, Any], Any], query: str, params: Any) -> Any:
        if self.connection.in_transaction:
            return statement(query, params)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                return statement(query, params)
            except sqlite3.OperationalError as error:
                code = getattr(error, "sqlite_errorcode", 0)
                # BUSY_SNAPSHOT: a read transaction's snapshot is stale; trying again cannot help.
                busy = code & 0xFF == sqlite3.SQLITE_BUSY and code != sqlite3.SQLITE_BUSY_SNAPSHOT
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(RETRY_EVERY)
