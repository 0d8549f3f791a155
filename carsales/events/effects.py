"""Recording an outside effect (an email, an HTTP call) under a delivery's idempotency key.

    with once(event.idempotency_key) as effect:
        if effect.already_done:
            return
        send_mail(..., headers={"Message-ID": f"<{effect.key}@carsales>"})

The attempt is committed before the body runs and `done` after it returns, each in its own
write. Call it outside any transaction (as the worker runs receivers) so the attempt survives
a failure; inside one, both records commit or roll back with it. A crash between the effect
and the `done` write runs the effect again on the retry: make the effect itself deduplicable
(a stable Message-ID, an idempotency header) when a second one must not happen.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import EffectRecord


@dataclass(frozen=True)
class Effect:
    key: str
    attempt: int  # 1 the first time the effect is attempted under this key
    already_done: bool  # a previous run completed it: skip the effect


@contextmanager
def once(key: str) -> Iterator[Effect]:
    """Record an attempt at the effect named `key`, yield it, and mark it done if the body returns.

    Args:
        key: unique for the effect, usually `event.idempotency_key` (plus a suffix when one
            receiver has several effects); at most 255 characters.
    Yields an Effect; when `already_done`, nothing is recorded and the body should skip the effect.
    An exception from the body propagates and leaves the effect not done (attempt counted).
    """
    with transaction.atomic():
        record, _ = EffectRecord.objects.select_for_update().get_or_create(key=key)
        if record.done_at is None:
            EffectRecord.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
    if record.done_at is not None:
        yield Effect(key=key, attempt=record.attempts, already_done=True)
        return
    yield Effect(key=key, attempt=record.attempts + 1, already_done=False)
    EffectRecord.objects.filter(pk=record.pk).update(done_at=timezone.now())
