from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from carsales.observability.timeline import timeline_prune


class Command(BaseCommand):
    help = "Delete the signal timeline's chains older than the retention (the workers' housekeeping does it too)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=float, default=None, help="Keep this many days (default CARSALES_TIMELINE_RETENTION_DAYS)."
        )

    def handle(self, *args: Any, days: float | None, **options: Any) -> None:
        kept = days if days is not None else settings.CARSALES_TIMELINE_RETENTION_DAYS
        deleted = timeline_prune(older_than=timedelta(days=kept))
        self.stdout.write(f"Deleted {deleted} chains older than {kept:g} days.")
