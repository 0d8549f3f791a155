from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, models, transaction

from .models import AuditEntry


def audit_record(
    *, actor: AbstractBaseUser | None, action: str, target: models.Model, detail: dict[str, Any] | None = None
) -> AuditEntry | None:
    """Log that `actor` did `action` to `target`; a repeat of the same action is ignored.

    Returns the new entry, or None when it was already logged (idempotent under redelivery).
    """
    try:
        with transaction.atomic():
            return AuditEntry.objects.create(
                actor=actor if actor is not None and actor.is_authenticated else None,  # type: ignore[misc]
                action=action,
                object_type=target._meta.label,
                object_id=str(target.pk),
                detail=detail or {},
            )
    except IntegrityError:
        return None
