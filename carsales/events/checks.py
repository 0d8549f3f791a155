"""Start-up check of the durable receivers (Django's check framework).

A worker knows a durable receiver only if the module declaring it is imported when Django
starts. One declared in a module the web process imports lazily (a view, a form) is known to
the web process, which writes its deliveries, and unknown to the worker, which cannot run
them — events.E001.
"""

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks

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
