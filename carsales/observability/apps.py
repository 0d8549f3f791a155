from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "carsales.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the receivers)
        from .timeline import install

        # Last of the apps (INSTALLED_APPS): every receiver of the others is connected by now.
        install()
