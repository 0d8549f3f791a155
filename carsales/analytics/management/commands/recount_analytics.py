from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from carsales.analytics.services import analytics_recount
from carsales.core.money import format_money


def describe(figures: tuple[Any, ...]) -> str:
    placed, sales, revenue, voided = figures
    return f"{placed} placed, {sales} sales, {format_money(revenue)}, {voided} voided"


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
            self.stdout.write(
                self.style.WARNING(f"{drift.day}: recorded {describe(drift.recorded)}, actual {describe(drift.actual)}")
            )
        verdict = "fixed" if fix else "run with --fix to correct them"
        self.stdout.write(f"{len(drifts)} day{'s' if len(drifts) != 1 else ''} drifted ({verdict}).")
