"""The stock as CSV: the columns a spreadsheet and `import_cars` read, streamed row by row."""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from .models import VEHICLE_FACTS, Car

CSV_COLUMNS = [
    "stock_code",
    "brand",
    "model",
    "factory_year",
    "model_year",
    "plate",
    "value",
    *VEHICLE_FACTS,
    "bio",
    "status",
    "created_at",
]
_SOURCES = {"brand": "brand__name"}
# A cell starting with one of these is a formula to a spreadsheet (CSV injection): such text
# is written with a leading apostrophe, which spreadsheets show as text and an import strips;
# so is text starting with an apostrophe, so that the import strips only what the export added.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000


class _Line:
    """A file csv.writer writes one line to, handed back instead of kept."""

    def write(self, line: str) -> str:
        return line


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, "'")):
        return "'" + value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return "" if value is None else value


def car_csv_lines(cars: QuerySet[Car]) -> Iterator[str]:
    """The header, then one line per car, read CHUNK_ROWS at a time: memory stays flat at any size.
    In the order `cars` were put in (the catalogue's, as its staff download shows it), else by id."""
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    ordered = cars if cars.query.order_by else cars.order_by("pk")
    rows: Iterable[tuple[Any, ...]] = ordered.values_list(*[_SOURCES.get(c, c) for c in CSV_COLUMNS]).iterator(
        chunk_size=CHUNK_ROWS
    )
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])
