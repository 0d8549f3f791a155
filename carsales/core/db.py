"""Small database helpers shared by the apps that keep running figures."""

from typing import Any

from django.db.models import Model


def update_seeding_row(model: type[Model], *, lookup: dict[str, Any], changes: dict[str, Any]) -> None:
    """UPDATE the row matching `lookup` with `changes` (F() expressions), creating it on first use.

    The common case is a single UPDATE, which also takes the row lock that serialises concurrent
    writers. Only when no row exists yet is it created (get_or_create survives a creation race)
    and the update repeated.
    """
    rows = model._default_manager.filter(**lookup)
    if not rows.update(**changes):
        model._default_manager.get_or_create(**lookup)
        rows.update(**changes)
