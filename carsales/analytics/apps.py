from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "carsales.analytics"
    label = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the receivers)
