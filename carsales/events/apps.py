from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "carsales.events"
    label = "events"
    verbose_name = "Durable events"

    def ready(self) -> None:
        from django.db.models.signals import pre_save

        from . import checks  # noqa: F401  (registers the start-up check)
        from .models import Delivery, EffectRecord
        from .receivers import kept_on_load
        from .transports import CeleryTransport, transport

        for model in (Delivery, EffectRecord):
            pre_save.connect(kept_on_load, sender=model, dispatch_uid=f"events.kept_on_load.{model._meta.model_name}")

        try:
            chosen = transport()
        except Exception:  # reported by the start-up check (events.E004), not a crash here
            return
        if isinstance(chosen, CeleryTransport):
            from . import celery_tasks  # noqa: F401  (registers the tasks with Celery, for its workers)
