"""Per-route request counts and latency, kept in memory per process and added to the cache
every CARSALES_REQUEST_STATS_FLUSH seconds: no database write on a request's path, one batch
of cache increments per process per interval, shared by every process and machine that uses
the same cache.

Latency goes into fixed buckets (upper bounds in milliseconds), so processes add their counts
without coordination; a percentile is read as the upper bound of the bucket it falls in.
"""

import hashlib
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

# Upper bounds (ms) of the latency buckets; the last one also takes anything slower (past any timeout).
BUCKETS_MS = (5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10_000, 60_000)
KEY = "observability:requests"


@dataclass
class _Pending:
    counts: dict[tuple[str, int], int]
    total_ms: dict[str, float]
    flushed_at: float


_lock = threading.Lock()
_pending = _Pending(defaultdict(int), defaultdict(float), time.monotonic())


def route_key(route: str, part: int | str) -> str:
    """The cache key of one counter of `route`; routes hold characters cache keys may not."""
    return f"{KEY}:{hashlib.blake2s(route.encode(), digest_size=8).hexdigest()}:{part}"


def bucket_of(milliseconds: float) -> int:
    return next((index for index, bound in enumerate(BUCKETS_MS) if milliseconds <= bound), len(BUCKETS_MS) - 1)


def request_record(*, route: str, milliseconds: float) -> None:
    """Count one request of `route` that took `milliseconds`; flush when the interval passed."""
    with _lock:
        _pending.counts[(route, bucket_of(milliseconds))] += 1
        _pending.total_ms[route] += milliseconds
        due = time.monotonic() - _pending.flushed_at >= settings.CARSALES_REQUEST_STATS_FLUSH
    if due:
        request_stats_flush()


def request_stats_flush() -> None:
    """Add this process's counts since the last flush to the shared ones in the cache."""
    with _lock:
        counts, totals = dict(_pending.counts), dict(_pending.total_ms)
        _pending.counts.clear()
        _pending.total_ms.clear()
        _pending.flushed_at = time.monotonic()
    if not counts:
        return
    cache.add(f"{KEY}:since", time.time(), timeout=None)
    increments = {route_key(route, bucket): n for (route, bucket), n in counts.items()}
    # Milliseconds summed as whole microseconds: cache increments are integers.
    increments |= {route_key(route, "total_us"): round(ms * 1000) for route, ms in totals.items()}
    for key, amount in increments.items():
        cache.add(key, 0, timeout=None)
        cache.incr(key, amount)


def request_stats_reset() -> None:
    """Forget this process's counts not yet flushed (tests)."""
    with _lock:
        _pending.counts.clear()
        _pending.total_ms.clear()
