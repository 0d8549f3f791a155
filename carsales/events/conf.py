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
    # PostgreSQL: the longest wait for a NOTIFY before polling anyway (for jobs enqueued without
    # one: delivery jobs always NOTIFY, and deferred ones are slept until, not polled for).
    "LISTEN_TIMEOUT": 10.0,
    # Seconds between the worker's sweeps for expired leases and lost jobs.
    "SWEEP_INTERVAL": 5.0,
    # Seconds a publish after the commit may take (or a delivery left to the relay may be
    # overdue) before the relay publishes it itself.
    "PUBLISH_GRACE": 5.0,
    # Seconds a handed-off delivery may wait unclaimed before the relay hands it off again (its
    # message lost with a broker restarted empty, or its job with a killed worker). Longer than
    # the longest backlog a queue is expected to hold: each repeat adds a message to it.
    "HANDOFF_TIMEOUT": 60.0,
    # Days after which finished deliveries, effect records and delivery jobs are pruned.
    "RETENTION_DAYS": 7,
    # How deliveries reach the processes that run them (transports.py): "database" (a job in
    # the sender's transaction, run by events_worker), "tasks" (a job on TASK_BACKEND after
    # commit: RQ...), "celery" (a Celery task after commit) or a Transport's dotted path.
    "TRANSPORT": "database",
    # The django-tasks backend alias the delivery jobs are enqueued on ("database", "tasks").
    "TASK_BACKEND": "default",
    # "celery": the dotted path of the project's Celery app (None: Celery's current app).
    "CELERY_APP": None,
    # "celery": the longest deferral (seconds) a message carries; later ones are published when due.
    "CELERY_LONGEST_DEFERRAL": 600.0,
    # PostgreSQL: the NOTIFY channel that wakes events_worker ("database").
    "NOTIFY_CHANNEL": "events_deliveries",
    # The template the staff page extends (the site's base layout).
    "BASE_TEMPLATE": "base.html",
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
