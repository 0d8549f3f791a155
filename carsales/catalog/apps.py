from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "carsales.catalog"
    label = "catalog"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from carsales.accounts.backends import read_with_each_request_user

        from . import receivers  # noqa: F401  (connects the receivers)
        from .pages import VERSION_READ_WITH_USER, version_of_the_catalogue

        # Read by every catalogue page (where the version is not pushed): with the user, not after.
        read_with_each_request_user(VERSION_READ_WITH_USER, version_of_the_catalogue)
