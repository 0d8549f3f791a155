"""The database's own checks (triggers, made by migrations) outlive SQLite's rebuild of a table,
which Django uses for most changes there: on the table itself and on a table another's trigger names."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import connection

from carsales.events.tests.processes import ROOT

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's table rebuild")

TRIGGERS = {
    "orders_orderitem_holds_a_held_car_insert",
    "orders_orderitem_holds_a_held_car_update",
    "orders_held_car_stays_held",
    "inventory_totals_snapshot",
    "accounts_new_password_revokes_tokens",
}

# A migrated database; then the field changes a migration would make, each rebuilding a table: the
# car's (its own trigger's, and named by the order lines'), a line's (named by the car's), the totals',
# the user's (its new password's trigger) and the API token's (named by it).
SCRIPT = textwrap.dedent(
    """
    import django
    django.setup()
    from django.db import connection, models
    from carsales.catalog.models import Car
    from carsales.inventory.models import InventoryTotals
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token
    from carsales.orders.models import OrderItem

    rebuilt = (Car, "model"), (OrderItem, "price"), (InventoryTotals, "cars_count"), (User, "first_name")
    for model, name in (*rebuilt, (Token, "created")):
        old = model._meta.get_field(name)
        new = old.clone()
        new.set_attributes_from_name(name)
        new.help_text = "changed"
        new.db_comment = "rebuilt"  # no SQL of its own on SQLite: the table is made anew
        new.null = not old.null
        with connection.schema_editor() as editor:
            editor.alter_field(model, old, new)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        print(",".join(row[0] for row in cursor.fetchall()))
    """
)


def test_the_triggers_outlive_a_rebuild_of_their_table_and_of_the_tables_they_name(tmp_path: Path):
    env = {"DJANGO_SETTINGS_MODULE": "carsales.settings.dev", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 120}
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], **run)  # type: ignore[call-overload]
    assert migrated.returncode == 0, migrated.stderr

    rebuilt = subprocess.run([sys.executable, "-c", SCRIPT], **run)  # type: ignore[call-overload]

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert set(rebuilt.stdout.strip().split(",")) >= TRIGGERS
