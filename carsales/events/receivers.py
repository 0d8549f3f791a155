"""The events app's own receivers: its rows as the worker writes them, on the one path that writes
past its services, a fixture."""

from datetime import datetime
from typing import Any

from django.db import models


def _as_dumped(value: Any) -> Any:
    # Django's JSON serializer keeps a time to the millisecond: a dump loaded again is the same row.
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def kept_on_load(sender: type[models.Model], instance: models.Model, raw: bool, **kwargs: Any) -> None:
    """A fixture loading a stored delivery or effect record with other values is refused: marked
    done it would drop its effect unseen, made pending again run it twice. A dump of them loads
    again as it is, and rows this database does not hold load (a restore)."""
    if not raw:
        return
    names = [field.attname for field in sender._meta.concrete_fields]
    stored = sender._default_manager.filter(pk=instance.pk).values(*names).first()
    if stored is None:
        return
    changed = sorted(name for name in names if _as_dumped(getattr(instance, name)) != _as_dumped(stored[name]))
    if changed:
        raise TypeError(
            f"{sender.__name__} #{instance.pk} is written by the events worker; a fixture cannot change its "
            f"{', '.join(changed)} (a dead delivery is requeued on /staff/events/)."
        )
