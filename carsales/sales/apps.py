from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "carsales.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the receivers)
