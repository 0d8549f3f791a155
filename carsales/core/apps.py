from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carsales.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Before any URLconf is imported, which happens on the first request or reverse().
        from . import converters

        converters.register()
