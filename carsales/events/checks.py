"""Start-up checks of the durable receivers (Django's check framework).

- events.E001: a worker knows a durable receiver only if the module declaring it is imported when
  Django starts. One declared in a module the web process imports lazily (a view, a form) is
  known to the web process, which writes its deliveries, and unknown to the worker.
- events.E002: no delivery runs before its sender commits. The "database" transport writes the
  job in the sender's transaction, so its tasks backend must keep jobs in the database
  (django-tasks-db): a broker would hand a job over before the commit — run for a write that then
  rolls back, or before its data is visible. Other transports publish after the commit.
- events.E003: every durable receiver's queue is one the tasks backend accepts.
- events.E004: the transport, its tasks backend or its Celery app cannot be loaded.
- events.E005: outside tests, the immediate backend runs receivers in the sender itself.
- events.E006: the dummy backend never runs a delivery.
- events.E007: the "celery" transport without the project's Celery app.
"""

from collections.abc import Callable, Iterable
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


def _in_tests() -> bool:
    """Whether Django's test environment is set up (the test runner gives mail an outbox)."""
    return hasattr(mail, "outbox")


def _load(what: str, build: Callable[[], Any]) -> tuple[Any, checks.CheckMessage | None]:
    """Build a configured object for a check; a failure is the check's Error, not a crash."""
    try:
        return build(), None
    except Exception as error:
        return None, checks.Error(f"{what} cannot be loaded: {type(error).__name__}: {error}", id="events.E004")


def _task_backend(alias: str) -> Any:
    from django_tasks import task_backends

    return task_backends[alias]


@checks.register("signals")
def durable_queues_accepted_by_the_backend(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """events.E003: a queue the tasks backend refuses would fail every hand-off to it."""
    chosen, failed = _load("EVENTS['TRANSPORT']", transport)
    if failed or not isinstance(chosen, DatabaseTransport | TasksTransport):
        return []  # events.E004 says why, or the backend is not django-tasks'
    alias = setting("TASK_BACKEND")
    backend, failed = _load(f"TASKS[{alias!r}]", lambda: _task_backend(alias))
    if failed or not backend.queues:  # no list: any queue
        return []
    return [
        checks.Error(
            f"Durable receiver {receiver.uid!r} uses queue {receiver.queue!r}, which TASKS[{alias!r}] does not list "
            f"({', '.join(sorted(backend.queues))}): none of its deliveries could be handed off.",
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
    """The transport and the tasks backend together never run a delivery before its sender commits,
    for a write that rolls back, or not at all: events.E002 (a broker fed inside the transaction),
    E004 (what cannot be loaded), E005 (the immediate backend outside tests), E006 (a backend
    that never runs a job), E007 (Celery without the project's app)."""
    chosen, failed = _load("EVENTS['TRANSPORT']", transport)
    if failed:
        return [failed]
    name = setting("TRANSPORT")
    if isinstance(chosen, CeleryTransport):
        if not setting("CELERY_APP"):
            return [
                checks.Error(
                    "EVENTS['CELERY_APP'] is not set: deliveries would be published through Celery's default app, "
                    "without the project's broker or settings.",
                    hint="Set it to the dotted path of the project's Celery app, e.g. 'mysite.celery.app'.",
                    id="events.E007",
                )
            ]
        _app, failed = _load("EVENTS['CELERY_APP']", lambda: chosen.app)
        return [failed] if failed else []
    if not isinstance(chosen, DatabaseTransport | TasksTransport):
        return []  # a transport of the project's own: it answers for itself
    alias = setting("TASK_BACKEND")
    backend, failed = _load(f"TASKS[{alias!r}]", lambda: _task_backend(alias))
    if failed:
        return [failed]
    from django_tasks.backends.dummy import DummyBackend
    from django_tasks.backends.immediate import ImmediateBackend
    from django_tasks_db import DatabaseBackend

    label = f"TASKS[{alias!r}] ({type(backend).__qualname__})"
    if isinstance(backend, DummyBackend) and not _in_tests():
        return [
            checks.Error(
                f"{label} never runs a job: every durable receiver's deliveries would be written and never run.",
                hint="Use django_tasks_db.DatabaseBackend with events_worker, or another executor (the events manual).",
                id="events.E006",
            )
        ]
    if isinstance(backend, ImmediateBackend) and not _in_tests():
        return [
            checks.Error(
                f"{label} runs each delivery in the process that sends the signal (EVENTS['TRANSPORT'] is {name!r}): "
                "inside the sender's transaction or right at its commit, in the request, with no lease, retry or "
                "expiry that survives a failure.",
                hint="Run deliveries on workers (events_worker, Celery or RQ); in tests, use the test kit "
                "(events.testing.deliveries_run) or run under Django's test runner.",
                id="events.E005",
            )
        ]
    if chosen.transactional and not isinstance(backend, DatabaseBackend):
        return [
            checks.Error(
                f"EVENTS['TRANSPORT'] is {name!r}, which hands each delivery to {label} inside the sender's "
                "transaction, and that backend keeps its jobs outside the database: a delivery could run "
                "before the sender commits, or for a write that then rolls back.",
                hint="Keep django_tasks_db.DatabaseBackend for the 'database' transport, or set EVENTS['TRANSPORT'] "
                "to 'tasks', which hands deliveries to another backend after the commit.",
                id="events.E002",
            )
        ]
    return []
