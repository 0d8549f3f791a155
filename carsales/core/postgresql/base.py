"""Django's PostgreSQL backend, its prepared statements planned anew after a change of schema.

With DATABASE_PREPARE_THRESHOLD (settings), psycopg prepares a statement run a few times on a
connection. A migration run meanwhile by another process that changes what such a statement
returns (a column's type) makes PostgreSQL refuse every later run of it on that connection
("cached plan must not change result type"). Inside a transaction the error fails it, and its
rollback drops the connection's prepared statements (psycopg does it on every rollback). Outside
one nothing would drop them, and Django keeps a connection whose `SELECT 1` answers: every
signed-in page would fail on the user's read until the connection aged out, and a worker until it
was restarted. There the statement drops them (DEALLOCATE ALL, which psycopg follows) and runs
once more.
"""

from typing import Any

from django.db.backends.postgresql import base
from psycopg import errors

_PLAN_OUTDATED = "cached plan must not change result type"


class ServerBindingCursor(base.ServerBindingCursor):  # type: ignore[name-defined,misc]  # psycopg 3 only
    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        try:
            return super().execute(query, params, **kwargs)
        except errors.FeatureNotSupported as error:
            if _PLAN_OUTDATED not in str(error) or not self.connection.autocommit:
                raise
        self.connection.execute("DEALLOCATE ALL")
        return super().execute(query, params, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if params.get("cursor_factory") is base.ServerBindingCursor:  # type: ignore[attr-defined]
            params["cursor_factory"] = ServerBindingCursor
        return params
