from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carsales.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Before any URLconf is imported, which happens on the first request or reverse().
        from django.core import checks

        from . import converters
        from .checks import receivers_badly_connected, receivers_not_imported

        converters.register()
        checks.register(receivers_not_imported, "signals")
        checks.register(receivers_badly_connected, "signals")
