from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand

from ...conf import setting
from ...services import deliveries_prune


class Command(BaseCommand):
    help = "Delete finished deliveries, done effect records and finished delivery jobs older than the retention."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days",
            type=float,
            default=setting("RETENTION_DAYS"),
            help="Keep what finished in the last DAYS days (default: the RETENTION_DAYS setting, %(default)s).",
        )

    def handle(self, *args: Any, days: float, **options: Any) -> None:
        deleted = deliveries_prune(older_than=timedelta(days=days))
        self.stdout.write(", ".join(f"{count} {kind}" for kind, count in deleted.items()) + " deleted.")
