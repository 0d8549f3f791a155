from django.db import migrations

# Kept here as they were when the trigger was made: a migration is frozen history.
MESSAGE = (
    "A car that a live order line holds stays reserved or sold: "
    "cancel its order, or void its sale, to put it back on sale."
)
HELD = "('reserved', 'sold')"
LIVE_LINE = "SELECT 1 FROM orders_orderitem WHERE orders_orderitem.car_id = NEW.id AND orders_orderitem.holds_car"


# The other side of 0007: a live line's car cannot leave reserved or sold on any path (the ORM, a
# fixture, SQL by hand) while the line holds it. The order services release the lines first.
def add_held_car_check(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER IF NOT EXISTS orders_held_car_stays_held BEFORE UPDATE OF status ON catalog_car "
            f"FOR EACH ROW WHEN NEW.status NOT IN {HELD} AND EXISTS ({LIVE_LINE}) "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    elif vendor == "postgresql":
        # The car's row is locked by this update, so a line written meanwhile (0007 reads the car
        # under a share lock) waits for it; a line written before is seen: each statement of a
        # volatile function reads what was committed when it began.
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION orders_held_car_stays_held() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.status NOT IN {HELD} AND EXISTS ({LIVE_LINE}) THEN "
            f"RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = '{MESSAGE}'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        schema_editor.execute(
            "CREATE OR REPLACE TRIGGER orders_held_car_stays_held BEFORE UPDATE OF status ON catalog_car "
            "FOR EACH ROW EXECUTE FUNCTION orders_held_car_stays_held()"
        )


def drop_held_car_check(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS orders_held_car_stays_held")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS orders_held_car_stays_held ON catalog_car")
        schema_editor.execute("DROP FUNCTION IF EXISTS orders_held_car_stays_held()")


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_live_lines_hold_held_cars")]

    operations = [
        migrations.RunPython(add_held_car_check, drop_held_car_check),
    ]
