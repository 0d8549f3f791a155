from django.db import migrations

# Kept here as they were when the trigger was made: a migration is frozen history.
MESSAGE = (
    "An order line that holds its car needs the car reserved or sold: "
    "order lines are written by orders.services.order_place, which reserves their cars first."
)
HELD = "('reserved', 'sold')"
BROKEN = (
    "NEW.holds_car AND EXISTS (SELECT 1 FROM catalog_car WHERE catalog_car.id = NEW.car_id "
    f"AND catalog_car.status NOT IN {HELD})"
)


# A live order line holds a car reserved or sold, on every path (the ORM, a fixture, SQL by hand):
# a rule across two tables, which no CHECK constraint can state. The car must exist for it to
# apply: a fixture may load the line before its car, whose foreign key is checked at commit.
def add_live_line_check(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for event in ("INSERT", "UPDATE OF holds_car, car_id"):
            name = f"orders_orderitem_holds_a_held_car_{event.split()[0].lower()}"
            schema_editor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {event} ON orders_orderitem FOR EACH ROW "
                f"WHEN {BROKEN} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
    elif vendor == "postgresql":
        # The car read under a share lock: a transaction putting it back on sale meanwhile is waited
        # for, and its outcome read, instead of the snapshot this statement began with.
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION orders_orderitem_holds_a_held_car() RETURNS trigger AS $$ "
            "DECLARE held text; BEGIN IF NEW.holds_car THEN "
            "SELECT status INTO held FROM catalog_car WHERE id = NEW.car_id FOR SHARE; "
            f"IF held NOT IN {HELD} THEN "
            f"RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = '{MESSAGE}'; END IF; "
            "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        schema_editor.execute(
            "CREATE OR REPLACE TRIGGER orders_orderitem_holds_a_held_car BEFORE INSERT OR UPDATE OF holds_car, car_id "
            "ON orders_orderitem FOR EACH ROW EXECUTE FUNCTION orders_orderitem_holds_a_held_car()"
        )


def drop_live_line_check(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for event in ("insert", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS orders_orderitem_holds_a_held_car_{event}")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS orders_orderitem_holds_a_held_car ON orders_orderitem")
        schema_editor.execute("DROP FUNCTION IF EXISTS orders_orderitem_holds_a_held_car()")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_unique_constraints_and_no_redundant_indexes"),
        ("catalog", "0019_catalogue_version_notified"),
    ]

    operations = [
        migrations.RunPython(add_live_line_check, drop_live_line_check),
    ]
