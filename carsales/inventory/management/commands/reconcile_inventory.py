from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from carsales.core.money import format_money
from carsales.inventory.services import Stock, inventory_reconcile


def describe(stock: Stock) -> str:
    return (
        f"{stock.cars_count} cars in stock worth {format_money(stock.cars_value)} "
        f"({stock.available_count} available, {stock.reserved_count} reserved, {stock.withdrawn_count} withdrawn; "
        f"{stock.sold_count} sold)"
    )


class Command(BaseCommand):
    help = (
        "Recount the cars table, report any drift of the inventory totals or the latest snapshot (exit status 1) "
        "and, with --fix, correct it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="Record the recount as the current inventory.")

    def handle(self, *args: Any, fix: bool, **options: Any) -> None:
        drift = inventory_reconcile(
            fix=fix,
            progress=lambda chunks: tqdm(chunks, desc="Recounting cars", unit="chunk", file=self.stderr),
        )
        actual = describe(drift.actual)
        if not drift.exists:
            self.stdout.write(self.style.SUCCESS(f"No drift: {actual}."))
            return
        found = []
        if drift.totals_drifted:
            found.append(f"recorded {describe(drift.recorded)}, actual {actual}")
        if drift.snapshot_drifted:
            found.append(f"the pages show {describe(drift.shown)}, the totals {describe(drift.recorded)}")
        report = f"Drift: {'; '.join(found)}"
        if not fix:  # a failing exit, for whatever runs this on a schedule to notice
            raise CommandError(f"{report} (run with --fix to correct it).")
        self.stdout.write(self.style.WARNING(f"{report} (fixed: the pages show {actual})."))
