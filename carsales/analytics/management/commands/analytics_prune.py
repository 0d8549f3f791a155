from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carsales.analytics.services import order_events_prune


class Command(BaseCommand):
    help = (
        "Delete the order events of days older than the retention; their daily figures stay as the record "
        "(the workers' housekeeping does it too)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="Keep this many days (default CARSALES_ANALYTICS_EVENT_DAYS)."
        )

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        kept = days if days is not None else settings.CARSALES_ANALYTICS_EVENT_DAYS
        if kept < 1:
            raise CommandError("Keep at least one day: today's events are still being counted.")
        deleted = order_events_prune(older_than=timedelta(days=kept))
        self.stdout.write(f"Deleted {deleted} order events of days older than {kept} days; their figures stay.")
