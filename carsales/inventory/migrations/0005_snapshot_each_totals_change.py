from django.db import migrations

# Kept here as they were when the trigger was made: a migration is frozen history.
FIGURES = ("cars_count", "cars_value", "available_count", "reserved_count", "sold_count", "withdrawn_count")
LISTED = ", ".join(FIGURES)
NEW_FIGURES = ", ".join(f"NEW.{name}" for name in FIGURES)


# Every move of the totals row records its snapshot, in the same statement, whatever moved it (the
# inventory's receivers, a reconcile, SQL by hand): the latest snapshot is the totals, always. Taken
# at the row's updated_at, which the writes in the code set with the figures (a test's frozen clock
# included), so both read the same time.
def add_totals_snapshot(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    taken = "NEW.updated_at"
    if vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER IF NOT EXISTS inventory_totals_snapshot AFTER UPDATE OF "
            f"{LISTED} ON inventory_inventorytotals FOR EACH ROW BEGIN "
            f"INSERT INTO inventory_carinventory ({LISTED}, created_at) VALUES ({NEW_FIGURES}, {taken}); END"
        )
    elif vendor == "postgresql":
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION inventory_totals_snapshot() RETURNS trigger AS $$ BEGIN "
            f"INSERT INTO inventory_carinventory ({LISTED}, created_at) VALUES ({NEW_FIGURES}, {taken}); "
            "RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        schema_editor.execute(
            f"CREATE OR REPLACE TRIGGER inventory_totals_snapshot AFTER UPDATE OF {LISTED} "
            "ON inventory_inventorytotals FOR EACH ROW EXECUTE FUNCTION inventory_totals_snapshot()"
        )


def drop_totals_snapshot(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS inventory_totals_snapshot")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS inventory_totals_snapshot ON inventory_inventorytotals")
        schema_editor.execute("DROP FUNCTION IF EXISTS inventory_totals_snapshot()")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_withdrawn_cars"),
    ]

    operations = [
        migrations.RunPython(add_totals_snapshot, drop_totals_snapshot),
    ]
