from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from carsales.core.db import insert_unless_duplicate

from .models import AuditEntry


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    target: models.Model,
    detail: dict[str, Any] | None = None,
    repeatable: bool = False,
) -> AuditEntry | None:
    """Log that `actor` did `action` to `target`.

    An action that happens once to an object (repeatable=False) is logged once: a repeat is
    ignored and returns None (idempotent under redelivery). Returns the new entry otherwise.
    """
    known = actor if actor is not None and actor.is_authenticated else None
    entry = AuditEntry(
        actor=known,  # type: ignore[misc]
        actor_name=known.get_username() if known is not None else "",
        action=action,
        object_type=target._meta.label,
        object_id=str(target.pk),
        detail=detail or {},
        repeatable=repeatable,
    )
    return entry if insert_unless_duplicate(entry) else None


def audit_record_many(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    entries: list[tuple[models.Model, dict[str, Any]]],
    repeatable: bool = False,
) -> int:
    """Log that `actor` did `action` to each target (with its detail), in one INSERT per thousand.

    For targets new in this transaction, or actions that repeat: a once-only action already logged
    for a target makes the whole insert fail (IntegrityError). Returns how many were logged.
    """
    known = actor if actor is not None and actor.is_authenticated else None
    rows = [
        AuditEntry(
            actor=known,  # type: ignore[misc]
            actor_name=known.get_username() if known is not None else "",
            action=action,
            object_type=target._meta.label,
            object_id=str(target.pk),
            detail=detail,
            repeatable=repeatable,
        )
        for target, detail in entries
    ]
    return len(AuditEntry.objects.bulk_create(rows, batch_size=1000))
