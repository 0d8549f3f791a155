from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "carsales.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the receivers)
