from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "carsales.events"
    label = "events"
    verbose_name = "Durable events"
