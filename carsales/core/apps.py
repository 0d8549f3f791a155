from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carsales.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Before any URLconf is imported, which happens on the first request or reverse().
        from django.apps import apps
        from django.core import checks
        from django.db.models.signals import post_migrate, pre_save

        from . import admin_lists, converters, lookups
        from .checks import (
            durable_receivers_carrying_what_is_not_sent,
            receivers_badly_connected,
            receivers_not_imported,
            receivers_saving_their_sender,
        )
        from .groups import staff_groups_ensure
        from .receivers import state_guarded_save
        from .state import StateGuardedModel

        converters.register()
        lookups.register()
        admin_lists.register()
        checks.register(receivers_not_imported, "signals")
        checks.register(receivers_badly_connected, "signals")
        checks.register(receivers_saving_their_sender, "signals")
        checks.register(durable_receivers_carrying_what_is_not_sent, "signals")
        for model in apps.get_models():
            if issubclass(model, StateGuardedModel):
                uid = f"core.state_guarded_save.{model._meta.label_lower}"
                pre_save.connect(state_guarded_save, sender=model, dispatch_uid=uid)
        # After every app's migrations: the groups need the permissions those create.
        post_migrate.connect(staff_groups_ensure, dispatch_uid="core.staff_groups_ensure")
