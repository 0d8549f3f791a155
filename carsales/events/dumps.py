"""What a fixture would change in a stored row, for the guards that refuse a load rewriting one
(this app's, core.state's, the audit log's: they may import this app, never the reverse)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import models


def as_dumped(value: Any) -> Any:
    """Django's JSON serializer keeps a time to the millisecond: a dump loaded again is the same row."""
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def changed_on_load(instance: models.Model, names: Sequence[str] | None, using: str | None) -> list[str] | None:
    """The columns among `names` (attnames; None: every column) that loading `instance` would
    change in the stored row with its pk, read as stored: empty for a dump loaded again; None for
    a row the database does not hold."""
    if names is None:
        names = [field.attname for field in instance._meta.concrete_fields]
    stored = type(instance)._base_manager.db_manager(using).filter(pk=instance.pk).values(*names).first()
    if stored is None:
        return None
    return sorted(name for name in names if as_dumped(instance.__dict__.get(name)) != as_dumped(stored[name]))
