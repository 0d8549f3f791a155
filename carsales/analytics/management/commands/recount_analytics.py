from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from carsales.analytics.services import analytics_recount, figures_described


class Command(BaseCommand):
    help = "Recount the daily sales figures from the order events, report the days that drifted; --fix corrects them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="Write the recounted figures.")

    def handle(self, *args: Any, fix: bool, **options: Any) -> None:
        drifts = analytics_recount(fix=fix)
        if not drifts:
            self.stdout.write(self.style.SUCCESS("No drift: every day's figures match its order events."))
            return
        for drift in drifts:
            recorded, actual = figures_described(drift.recorded), figures_described(drift.actual)
            self.stdout.write(self.style.WARNING(f"{drift.day}: recorded {recorded}, actual {actual}"))
        verdict = "fixed" if fix else "run with --fix to correct them"
        self.stdout.write(f"{len(drifts)} day{'s' if len(drifts) != 1 else ''} drifted ({verdict}).")
