"""The app's settings: `EVENTS = {...}` in Django settings, each key falling back to DEFAULTS."""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Seconds one delivery may run before it is interrupted and counted as a failed attempt.
    "TIMEOUT": 30.0,
    # Seconds a claim outlives TIMEOUT; a delivery still RUNNING after that lost its worker.
    "LEASE_GRACE": 30.0,
    "MAX_ATTEMPTS": 5,
    # Retry n waits between half and all of BACKOFF_BASE * 2**(n-1) seconds, capped at BACKOFF_MAX.
    "BACKOFF_BASE": 2.0,
    "BACKOFF_MAX": 3600.0,
    # Seconds between polls when the database cannot LISTEN (SQLite).
    "POLL_INTERVAL": 0.05,
    # PostgreSQL: the longest wait for a NOTIFY before polling anyway (retries become due unannounced).
    "LISTEN_TIMEOUT": 1.0,
    # Seconds between the worker's sweeps for expired leases and lost jobs.
    "SWEEP_INTERVAL": 5.0,
    # Days after which finished deliveries, effect records and delivery jobs are pruned.
    "RETENTION_DAYS": 7,
    # The django-tasks backend alias the delivery jobs are enqueued on.
    "TASK_BACKEND": "default",
    # Seconds a worker that has no receiver for a delivery (another release's) leaves it before
    # it is tried again, by whichever worker takes it; the attempt is not counted.
    "UNKNOWN_RECEIVER_DELAY": 60.0,
    # Dotted paths of callables (no arguments) each worker calls after every sweep: clean-ups
    # that need a periodic runner but belong to another app (that app names them here, so
    # this app imports none).
    "HOUSEKEEPING": [],
}


def setting(name: str) -> Any:
    """Return the EVENTS[name] setting or its default; raises KeyError for an unknown name."""
    return getattr(settings, "EVENTS", {}).get(name, DEFAULTS[name])
