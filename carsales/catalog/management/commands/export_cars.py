import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandParser

from carsales.catalog.exports import car_csv_lines
from carsales.catalog.models import Car


class Command(BaseCommand):
    help = "Write every car to a CSV file (or - for standard output), as the staff download does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Where to write the CSV; - writes to standard output.")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        if file == "-":
            self._write(sys.stdout)
            return
        with open(file, "w", newline="", encoding="utf-8") as out:
            count = self._write(out)
        self.stdout.write(self.style.SUCCESS(f"Wrote {count} cars to {file}."))

    def _write(self, out: TextIO) -> int:
        count = -1  # the header is not a car
        for line in car_csv_lines(Car.objects.all()):
            out.write(line)
            count += 1
        return count
