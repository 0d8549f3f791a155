"""Recording an outside effect (an email, an HTTP call) under a delivery's idempotency key.

    with once(event.idempotency_key) as effect:
        if effect.already_done:
            return
        send_mail(..., headers={"Message-ID": f"<{effect.key}@example.com>"})

The attempt and a claim on the key are committed before the body runs, and `done` after it
returns, each in its own short write: no lock is held during the outside call (on SQLite a
held lock would stop every writer for as long as an SMTP server takes to answer). While the
claim is live, another `once` of the same key raises EffectBusy instead of running the body,
so two workers never do one effect at once. The claim lasts as long as the running delivery's
lease (the lease's end is when the delivery may be taken up again), else TIMEOUT + LEASE_GRACE.

Call it outside any transaction (as the worker runs receivers) so the attempt survives a
failure; inside one, the records commit or roll back with it. A crash between the effect and
the `done` write runs the effect again on the retry: make the effect itself deduplicable (a
stable Message-ID, an idempotency header) when a second one must not happen.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.utils import timezone

from .conf import setting
from .durable import RetryLater
from .models import EffectRecord

# The lease of the delivery being run in this context; set by the worker around a receiver.
_lease_until: ContextVar[datetime | None] = ContextVar("events_lease_until", default=None)


class EffectBusy(RetryLater):
    """Another run holds the claim on this effect's key right now; retried when the claim ends."""


@dataclass(frozen=True)
class Effect:
    key: str
    attempt: int  # 1 the first time the effect is attempted under this key
    already_done: bool  # a previous run completed it: skip the effect


@contextmanager
def leased(until: datetime | None) -> Iterator[None]:
    """Let `once` calls in this context claim their key until `until` (the delivery's lease)."""
    token = _lease_until.set(until)
    try:
        yield
    finally:
        _lease_until.reset(token)


@contextmanager
def once(key: str) -> Iterator[Effect]:
    """Claim the effect named `key`, record an attempt, yield, and mark it done if the body returns.

    Args:
        key: unique for the effect, usually `event.idempotency_key` (plus a suffix when one
            receiver has several effects); at most 255 characters.
    Yields an Effect; when `already_done`, nothing is recorded and the body should skip the effect.
    Raises EffectBusy (a RetryLater, so a delivery is retried when the claim ends) without
    running the body while another run holds a live claim on `key`. An exception from the body
    propagates, leaves the effect not done (attempt counted) and releases the claim.
    """
    claim = uuid.uuid4().hex
    now = timezone.now()
    until = _lease_until.get() or now + timedelta(seconds=setting("TIMEOUT") + setting("LEASE_GRACE"))
    using = router.db_for_write(EffectRecord)
    claimed = _claim(using, key=key, claim=claim, now=now, until=until)
    if claimed is None:
        record = EffectRecord.objects.using(using).get(key=key)
        if record.done_at is not None:
            yield Effect(key=key, attempt=record.attempts, already_done=True)
            return
        # Claimed by another run; the claim can only have ended since the upsert, so the wait is an upper bound.
        wait = max((record.claimed_until - now).total_seconds(), 0.0) if record.claimed_until else 0.0
        raise EffectBusy(wait, f"effect {key!r} is being done by another run for {wait:.1f}s more")
    pk, attempt = claimed
    records = EffectRecord.objects.using(using).filter(pk=pk)
    try:
        yield Effect(key=key, attempt=attempt, already_done=False)
    except BaseException:
        if not transaction.get_connection(using).needs_rollback:  # else the rollback drops the claim
            records.filter(claim=claim).update(claim="", claimed_until=None)
        raise
    records.update(done_at=timezone.now(), claim="", claimed_until=None)


def _claim(using: str, *, key: str, claim: str, now: datetime, until: datetime) -> tuple[int, int] | None:
    """Create or claim the record of `key` and count an attempt, in one statement; (pk, attempts) or None.

    None when the record is done or another run's claim is live: the upsert's WHERE left it alone.
    One INSERT … ON CONFLICT DO UPDATE … RETURNING (PostgreSQL, SQLite ≥ 3.35) replaces a locked read,
    a savepoint, an insert and an update: the row lock the conflict takes makes it atomic.
    """
    connection = connections[using]
    table = connection.ops.quote_name(EffectRecord._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value
    sql = (
        f'INSERT INTO {table} ("key", attempts, claim, claimed_until, created_at, done_at)'
        " VALUES (%s, 1, %s, %s, %s, NULL)"
        f' ON CONFLICT ("key") DO UPDATE SET attempts = {table}.attempts + 1,'
        " claim = excluded.claim, claimed_until = excluded.claimed_until"
        f" WHERE {table}.done_at IS NULL AND ({table}.claimed_until IS NULL OR {table}.claimed_until <= %s)"
        " RETURNING id, attempts"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, claim, stamp(until), stamp(now), stamp(now)])
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None
