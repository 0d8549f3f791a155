from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "carsales.events"
    label = "events"
    verbose_name = "Durable events"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the start-up check)
        from .transports import CeleryTransport, transport

        try:
            chosen = transport()
        except Exception:  # reported by the start-up check (events.E004), not a crash here
            return
        if isinstance(chosen, CeleryTransport):
            from . import celery_tasks  # noqa: F401  (registers the tasks with Celery, for its workers)
