import argparse
import csv
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from carsales.catalog.imports import BATCH_ROWS, REQUIRED_COLUMNS, cars_import

PROBLEMS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Add the cars of a CSV file as export_cars writes it. Bad rows are reported by line and skipped; "
        "each batch commits on its own; run it again to resume (cars already in stock are skipped)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file (UTF-8, a header row naming the columns).")
        parser.add_argument("--batch-rows", type=_positive, default=BATCH_ROWS, help="Rows per transaction.")

    def handle(self, *args: Any, file: str, batch_rows: int, **options: Any) -> None:
        try:
            handle = open(file, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed below)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        with handle:
            total = _rows_readable(handle, file)
            handle.seek(0)
            reader = csv.DictReader(handle)
            missing = [name for name in REQUIRED_COLUMNS if name not in (reader.fieldnames or [])]
            if missing:
                raise CommandError(f"{file} has no column {', '.join(missing)} (the header row names them).")
            rows = ((reader.line_num, row) for row in reader)
            with tqdm(total=total, unit="line", disable=options["verbosity"] == 0) as bar:
                report = cars_import(rows, batch_rows=batch_rows, progress=bar.update)
        # By line: a batch's rows refused by the database are found after the rows checked first.
        problems = sorted(report.problems, key=lambda problem: problem[0])
        for line, problem in problems[:PROBLEMS_SHOWN]:
            self.stderr.write(f"line {line}: {problem}")
        if len(problems) > PROBLEMS_SHOWN:
            self.stderr.write(f"... and {_counted(len(problems) - PROBLEMS_SHOWN, 'more row')} skipped.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {_counted(report.added, 'car')}; {report.already_in_stock} already in stock; "
                f"{_counted(len(problems), 'row')} skipped."
            )
        )


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _rows_readable(handle: Any, file: str) -> int:
    """How many rows follow the header, read through once: a file that is not UTF-8 text or not
    CSV is refused, saying where, before any of its rows is added."""
    reader = csv.reader(handle)
    try:
        rows = sum(1 for _ in reader)
    except UnicodeDecodeError:
        raise CommandError(
            f"{file} is not UTF-8 text (after line {reader.line_num}): save it as CSV UTF-8, as export_cars writes it."
        ) from None
    except csv.Error as error:
        raise CommandError(f"{file}, line {reader.line_num}: {error}.") from None
    return max(rows - 1, 0)


def _positive(text: str) -> int:
    try:
        rows = int(text)
    except ValueError:
        rows = 0
    if rows < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a batch holds at least one row")
    return rows
