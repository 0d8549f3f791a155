"""Start-up checks of the durable receivers (Django's check framework).

- events.E001: a worker knows a durable receiver only if the module declaring it is imported when
  Django starts. One declared in a module the web process imports lazily (a view, a form) is
  known to the web process, which writes its deliveries, and unknown to the worker.
- events.E002: the deliveries' jobs must be written in the sender's transaction, so the tasks
  backend must keep them in the database (django-tasks-db). A backend outside it (a broker) would
  hand a job over before the commit — run for a write that then rolls back, or before its data is
  visible — and the immediate backend runs the receiver inside the sender's transaction itself.
"""

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core import checks

from .conf import setting
from .durable import registry

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


IN_THE_DATABASE = {"django_tasks_db.DatabaseBackend", "django_tasks_db.backend.DatabaseBackend"}


@checks.register("signals")
def delivery_jobs_written_with_the_sender(
    app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    alias = setting("TASK_BACKEND")
    backend = settings.TASKS.get(alias, {}).get("BACKEND", "")
    if backend in IN_THE_DATABASE:
        return []
    return [
        checks.Error(
            f"TASKS[{alias!r}] is {backend or 'missing'}: durable receivers need their jobs written in the sender's "
            "transaction, in the database. With this backend a delivery could run before the sender commits, for a "
            "write that then rolls back, or inside the sender's transaction.",
            hint="Use django_tasks_db.DatabaseBackend for EVENTS['TASK_BACKEND'] (workers: manage.py events_worker).",
            id="events.E002",
        )
    ]
