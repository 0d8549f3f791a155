from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections, models
from django.db.models.expressions import RawSQL
from django.utils import timezone

from carsales.catalog.models import Brand, Car
from carsales.core.db import IDS_PER_STATEMENT, insert_select, insert_soon, pks_in

from .models import AuditEntry


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    target: models.Model,
    detail: dict[str, Any] | None = None,
    repeatable: bool = False,
) -> None:
    """Log that `actor` did `action` to `target`; inside a save, with the rest of its derived
    data in one round trip (core.db.write_soon).

    An action that happens once to an object (repeatable=False) is logged once: a repeat is
    ignored (idempotent under redelivery).
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
    insert_soon(entry, unless_duplicate=True)


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


def audit_record_cars_created(*, actor: AbstractBaseUser | None, car_ids: list[int], using: str = "default") -> int:
    """Log "car.created" for each of these new cars as a single save logs it (the car, its stock
    code, its price), the entries made by the database from the cars' rows (INSERT ... SELECT),
    IDS_PER_STATEMENT cars a statement; returns how many were logged."""
    known = actor if actor is not None and actor.is_authenticated else None
    connection = connections[using]
    quote = connection.ops.quote_name
    car, brand = (f"{quote(table)}" for table in (Car._meta.db_table, Brand._meta.db_table))
    name = f"{brand}.{quote('name')} || ' ' || {car}.{quote('model')} || ' ' || {car}.{quote('model_year')}"
    value = f"{car}.{quote('value')}"
    if connection.vendor == "postgresql":
        detail = f"jsonb_build_object('car', {name}, 'stock_code', {car}.{quote('stock_code')}, 'value', {value}::text)"
    else:  # SQLite keeps decimals as numbers: two places written as the single save writes them
        money = f"CASE WHEN {value} IS NULL THEN NULL ELSE printf('%%.2f', {value}) END"
        detail = f"json_object('car', {name}, 'stock_code', {car}.{quote('stock_code')}, 'value', {money})"
    logged = 0
    for start in range(0, len(car_ids), IDS_PER_STATEMENT):
        chunk_in, chunk_params = pks_in(Car, f"{car}.{quote('id')}", car_ids[start : start + IDS_PER_STATEMENT], using)
        logged += insert_select(
            AuditEntry,
            values={
                "actor": known.pk if known is not None else None,
                "actor_name": known.get_username() if known is not None else "",
                "action": "car.created",
                "object_type": Car._meta.label,
                "object_id": RawSQL(f"CAST({car}.{quote('id')} AS TEXT)", []),
                "detail": RawSQL(detail, []),
                "repeatable": False,
                "created_at": timezone.now(),
            },
            source=f"{car} JOIN {brand} ON {brand}.{quote('id')} = {car}.{quote('brand_id')}",
            where=chunk_in,
            params=chunk_params,
            using=using,
        )
    return logged
