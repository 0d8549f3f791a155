"""Start-up checks of the durable receivers (Django's check framework).

- events.E001: a worker knows a durable receiver only if the module declaring it is imported when
  Django starts. One declared in a module the web process imports lazily (a view, a form) is
  known to the web process, which writes its deliveries, and unknown to the worker.
- events.E002: no delivery runs before its sender commits. The "database" transport writes the
  job in the sender's transaction, so its tasks backend must keep jobs in the database
  (django-tasks-db): a broker would hand a job over before the commit — run for a write that then
  rolls back, or before its data is visible. Other transports publish after the commit. Outside
  tests, the immediate backend (and Celery's task_always_eager) runs the receiver in the sender
  itself, and the dummy backend never runs it.
- events.E003: every durable receiver's queue is one the tasks backend accepts.
"""

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks, mail

from .conf import setting
from .durable import registry
from .transports import CeleryTransport, DatabaseTransport, TasksTransport, transport

# Modules Django imports at start-up for every app: models by the registry, receivers by the
# AppConfig.ready() convention.
LOADED_AT_STARTUP = ("receivers", "models", "apps", "signals")


def _loaded_at_startup(module: str) -> bool:
    package, _, leaf = module.rpartition(".")
    in_an_app = any(module.startswith(f"{config.name}.") for config in apps.get_app_configs())
    return in_an_app and leaf in LOADED_AT_STARTUP and bool(package)


@checks.register("signals")
def durable_receivers_known_to_workers(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"Durable receiver {receiver.uid!r} ({receiver.name}) is declared in {receiver.function.__module__}, "
            "which a worker does not import at start-up: its deliveries would be written but never run.",
            hint="Declare it in the app's receivers module, imported by AppConfig.ready().",
            id="events.E001",
        )
        for receiver in registry.values()
        if not _loaded_at_startup(receiver.function.__module__)
    ]


IMMEDIATE = "django_tasks.backends.immediate.ImmediateBackend"
NEVER_RUNS = "django_tasks.backends.dummy.DummyBackend"


def _in_tests() -> bool:
    """Whether Django's test environment is set up (the test runner gives mail an outbox)."""
    return hasattr(mail, "outbox")


def _backend(alias: str) -> Any:
    from django_tasks import task_backends
    from django_tasks.exceptions import InvalidTaskBackendError

    try:
        return task_backends[alias]
    except InvalidTaskBackendError:
        return None


def _backend_path(alias: str) -> str:
    backend = _backend(alias)
    return f"{type(backend).__module__}.{type(backend).__qualname__}" if backend is not None else ""


@checks.register("signals")
def durable_queues_accepted_by_the_backend(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """events.E003: a queue the tasks backend refuses would fail every hand-off to it."""
    try:
        chosen = transport()
    except ImportError:
        return []  # events.E002 says so
    backend = _backend(setting("TASK_BACKEND")) if isinstance(chosen, DatabaseTransport | TasksTransport) else None
    if backend is None or not backend.queues:  # no list: any queue
        return []
    return [
        checks.Error(
            f"Durable receiver {receiver.uid!r} uses queue {receiver.queue!r}, which "
            f"TASKS[{setting('TASK_BACKEND')!r}] does not list ({', '.join(sorted(backend.queues))}): "
            "none of its deliveries could be handed off.",
            hint="Add the queue to the backend's QUEUES (for RQ, to RQ_QUEUES too) and run a worker on it.",
            id="events.E003",
        )
        for receiver in registry.values()
        if receiver.queue not in backend.queues
    ]


@checks.register("signals")
def deliveries_run_only_after_commit(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """events.E002: the transport and the tasks backend together never run a delivery before its
    sender commits, for a write that rolls back, or not at all."""
    try:
        chosen = transport()
    except ImportError as error:
        return [checks.Error(f"EVENTS['TRANSPORT'] cannot be loaded: {error}", id="events.E002")]
    name = setting("TRANSPORT")
    alias = setting("TASK_BACKEND")
    if isinstance(chosen, CeleryTransport):
        if getattr(chosen.app.conf, "task_always_eager", False) and not _in_tests():
            return [_runs_in_the_sender("Celery's task_always_eager", name)]
        return []
    if not isinstance(chosen, DatabaseTransport | TasksTransport):
        return []  # a transport of the project's own: it answers for itself
    backend = _backend_path(alias)
    if not backend:
        return [checks.Error(f"EVENTS['TASK_BACKEND'] is {alias!r}, which TASKS does not define.", id="events.E002")]
    if backend == NEVER_RUNS and not _in_tests():
        return [
            checks.Error(
                f"TASKS[{alias!r}] is {backend}, which never runs a job: every durable receiver's deliveries would "
                "be written and never run.",
                hint="Use django_tasks_db.DatabaseBackend with events_worker, or another executor (docs/events.md).",
                id="events.E002",
            )
        ]
    if backend == IMMEDIATE and not _in_tests():
        return [_runs_in_the_sender(f"TASKS[{alias!r}] ({backend})", name)]
    if chosen.transactional and not backend.startswith("django_tasks_db."):
        return [
            checks.Error(
                f"EVENTS['TRANSPORT'] is {name!r}, which hands each delivery to TASKS[{alias!r}] inside the sender's "
                f"transaction, and that backend ({backend}) keeps its jobs outside the database: a delivery could run "
                "before the sender commits, or for a write that then rolls back.",
                hint="Keep django_tasks_db.DatabaseBackend for the 'database' transport, or set EVENTS['TRANSPORT'] "
                "to 'tasks', which hands deliveries to another backend after the commit.",
                id="events.E002",
            )
        ]
    return []


def _runs_in_the_sender(what: str, name: str) -> checks.CheckMessage:
    return checks.Error(
        f"{what} runs each delivery in the process that sends the signal (EVENTS['TRANSPORT'] is {name!r}): inside "
        "the sender's transaction or right at its commit, in the request, with no lease, retry or expiry that "
        "survives a failure.",
        hint="Run deliveries on workers (events_worker, Celery or RQ); in tests, use the test kit "
        "(events.testing.deliveries_run) or run under Django's test runner.",
        id="events.E002",
    )
