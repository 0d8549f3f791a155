from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "carsales.catalog"
    label = "catalog"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the receivers)
