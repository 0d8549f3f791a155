"""Indexes for the case-insensitive matches of a log-in (a username or an email in any case:
accounts.backends.account_for_login), on PostgreSQL, whose `iexact` compares UPPER(column::text).
SQLite has no such index for them (its `iexact` is a Python function: carsales.core.sqlite)."""

from django.db import migrations

INDEXES = {
    "accounts_user_username_upper": "username",
    "accounts_user_email_upper": "email",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "auth_user" (UPPER("{column}"::text))')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_buyer_email_change_pending"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create, drop)]
