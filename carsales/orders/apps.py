from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "carsales.orders"
    label = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the receivers)
