from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carsales.core"
    label = "core"
    verbose_name = "Core"
