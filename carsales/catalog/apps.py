from django.apps import AppConfig
from django.conf import settings
from django.db import connection


class CatalogConfig(AppConfig):
    name = "carsales.catalog"
    label = "catalog"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from carsales.accounts.backends import read_with_each_request_user

        from . import receivers  # noqa: F401  (connects the receivers)
        from .pages import VERSION_READ_WITH_USER, version_of_the_catalogue

        # Read by every catalogue page, where it is not pushed (catalog.version_listener): with the
        # user, not after.
        if not (settings.CARSALES_CATALOGUE_VERSION_PUSHED and connection.vendor == "postgresql"):
            read_with_each_request_user(VERSION_READ_WITH_USER, version_of_the_catalogue)
