"""A new password revokes the account's API tokens on every path: a save (whose pre_save also
lifts the lock-outs and owes the email), and a queryset update or bulk_update in a shell, which
sends no signal. The database does it, in the statement that writes the password."""

from django.db import migrations

# Kept here as it was when the trigger was made: a migration is frozen history.
REVOKE = "DELETE FROM authtoken_token WHERE authtoken_token.user_id = NEW.id"


def add_token_revocation(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER IF NOT EXISTS accounts_new_password_revokes_tokens AFTER UPDATE OF password ON auth_user "
            f"FOR EACH ROW WHEN OLD.password IS NOT NEW.password BEGIN {REVOKE}; END"
        )
    elif vendor == "postgresql":
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION accounts_new_password_revokes_tokens() RETURNS trigger AS $$ BEGIN "
            f"{REVOKE}; RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        schema_editor.execute(
            "CREATE OR REPLACE TRIGGER accounts_new_password_revokes_tokens AFTER UPDATE OF password ON auth_user "
            "FOR EACH ROW WHEN (OLD.password IS DISTINCT FROM NEW.password) "
            "EXECUTE FUNCTION accounts_new_password_revokes_tokens()"
        )


def drop_token_revocation(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS accounts_new_password_revokes_tokens")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS accounts_new_password_revokes_tokens ON auth_user")
        schema_editor.execute("DROP FUNCTION IF EXISTS accounts_new_password_revokes_tokens()")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_user_names_and_emails_indexed_in_any_case"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [
        migrations.RunPython(add_token_revocation, drop_token_revocation),
    ]
