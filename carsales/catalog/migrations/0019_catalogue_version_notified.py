from django.db import migrations

# What catalog.version_listener LISTENs on (kept here as it was when the trigger was made).
CHANNEL = "carsales_catalogue_version"


# Each new number of the catalogue's version is NOTIFYed (delivered once its transaction
# commits) to the web processes listening (catalog.version_listener), whatever wrote it: the
# ORM's bump, a bulk update's, or SQL by hand.
def add_version_notify(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION catalog_catalogueversion_notify() RETURNS trigger AS $$ "
            f"BEGIN PERFORM pg_notify('{CHANNEL}', NEW.number::text); RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        schema_editor.execute(
            "CREATE OR REPLACE TRIGGER catalog_catalogueversion_notify AFTER INSERT OR UPDATE OF number "
            "ON catalog_catalogueversion FOR EACH ROW EXECUTE FUNCTION catalog_catalogueversion_notify()"
        )


def drop_version_notify(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS catalog_catalogueversion_notify ON catalog_catalogueversion")
        schema_editor.execute("DROP FUNCTION IF EXISTS catalog_catalogueversion_notify()")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0018_catalogue_orderings_indexed"),
    ]

    operations = [
        migrations.RunPython(add_version_notify, drop_version_notify),
    ]
