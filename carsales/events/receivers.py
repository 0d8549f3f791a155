"""The events app's own receivers: its rows as the worker writes them, on the one path that writes
past its services, a fixture."""

from typing import Any

from django.db import models

from .dumps import changed_on_load


def kept_on_load(sender: type[models.Model], instance: models.Model, raw: bool, using: str, **kwargs: Any) -> None:
    """A fixture loading a stored delivery or effect record with other values is refused: marked
    done it would drop its effect unseen, made pending again run it twice. A dump of them loads
    again as it is, and rows this database does not hold load (a restore)."""
    if not raw:
        return
    changed = changed_on_load(instance, None, using)
    if changed:
        raise TypeError(
            f"{sender.__name__} #{instance.pk} is written by the events worker; a fixture cannot change its "
            f"{', '.join(changed)} (a dead delivery is requeued on /staff/events/)."
        )
