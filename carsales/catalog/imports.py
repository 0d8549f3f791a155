"""Cars from CSV, as `export_cars` and the staff download write them: checked row by row, added
a batch at a time (all or nothing per batch) through cars_add_many, resumable by running again."""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from carsales.core.db import values_stored

from .exports import CSV_COLUMNS, FORMULA_STARTS
from .models import STOCK_CODE_PATTERN, Brand, Car, CarStatus, PlateBare, folded, plate_as_stored, plate_bare
from .services import brand_create, cars_add_many, cars_withdraw

REQUIRED_COLUMNS = ("brand", "model", "factory_year", "model_year", "plate")
IMPORTED_FIELDS = [c for c in CSV_COLUMNS if c not in ("brand", "status", "created_at")]
NULLABLE = {name: getattr(Car._meta.get_field(name), "null", False) for name in IMPORTED_FIELDS}
BATCH_ROWS = 1000


@dataclass
class ImportReport:
    added: int = 0
    already_in_stock: int = 0  # rows of an earlier run (same stock code or plate): skipped
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, why), skipped


def _text(value: str) -> str:
    # The export writes a cell a spreadsheet would run as a formula, or one starting with an
    # apostrophe, after an apostrophe of its own (exports._cell).
    value = value.strip()
    return value[1:] if value.startswith("'") and value[1:2] and value[1:2] in (*FORMULA_STARTS, "'") else value


def _message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
    return " ".join(error.messages)


class _Cleaner:
    """Model.clean_fields for the fields a file fills (the others hold their defaults; the brand is
    looked up), each cell cleaned once per import: the cells
    of a column repeat (fuels, models, years), and a cell's value and errors depend on it alone.
    Each column remembers its first thousand values only: plates, VINs and mileages rarely repeat."""

    REMEMBERED_PER_COLUMN = 1000

    def __init__(self) -> None:
        self.fields = [
            column for column in Car._meta.concrete_fields if column.name in IMPORTED_FIELDS and not column.is_relation
        ]
        self.cleaned: dict[str, dict[Any, Any]] = {column.attname: {} for column in self.fields}

    def clean_fields(self, car: Car) -> None:
        """As car.clean_fields(exclude=<every field the file does not fill>): ValidationError per field."""
        errors: dict[str, list[ValidationError]] = {}
        for column in self.fields:
            raw = getattr(car, column.attname)
            if column.blank and raw in column.empty_values:
                continue
            cleaned = self.cleaned[column.attname]
            outcome = cleaned.get(raw)
            if outcome is None:
                try:
                    outcome = column.clean(raw, car)
                except ValidationError as error:
                    outcome = error
                if len(cleaned) < self.REMEMBERED_PER_COLUMN:
                    cleaned[raw] = outcome
            if isinstance(outcome, ValidationError):
                errors[column.name] = outcome.error_list
            else:
                setattr(car, column.attname, outcome)
        if errors:
            raise ValidationError(errors)


class _Batch:
    def __init__(self, brands: dict[str, Brand], cleaner: _Cleaner) -> None:
        self.brands = brands
        self.cleaner = cleaner
        self.cars: list[tuple[int, Car, bool]] = []  # (line, car, withdrawn)

    def car_of(self, line: int, row: dict[str, str], report: ImportReport) -> None:
        if any(isinstance(cell, str) and "\x00" in cell for cell in row.values()):
            report.problems.append((line, "a cell holds a NUL character, which no text of a car may"))
            return
        status = (row.get("status") or "available").strip().lower()
        if status in (CarStatus.RESERVED, CarStatus.SOLD):
            report.problems.append((line, f"a {status} car comes with its order; it is not imported on its own"))
            return
        if status not in (CarStatus.AVAILABLE, CarStatus.WITHDRAWN):
            report.problems.append((line, f"status {status}: a car is imported available or withdrawn"))
            return
        values: dict[str, Any] = {name: _text(row.get(name) or "") for name in IMPORTED_FIELDS}
        brand_name = _text(row.get("brand") or "")
        if not brand_name:
            report.problems.append((line, "brand: a car needs a brand"))
            return
        # An empty cell is "not stated": NULL where the column takes it (numbers), else "" (text).
        car = Car(**{name: None if value == "" and NULLABLE[name] else value for name, value in values.items()})
        car.plate = plate_as_stored(car.plate)
        # In capitals, as searching reads a code typed in any case; letters A to Z and digits only.
        car.stock_code = car.stock_code.upper() if car.stock_code.isascii() else car.stock_code
        if not re.match(STOCK_CODE_PATTERN, car.stock_code):  # the constraint car_stock_code_format
            report.problems.append((line, f"stock code {car.stock_code}: letters A to Z and digits only"))
            return
        try:
            self.cleaner.clean_fields(car)
            car.clean()
        except ValidationError as error:
            report.problems.append((line, _message(error)))
            return
        brand = self.brands.get(folded(brand_name))
        if brand is None:
            try:
                brand = self.brands[folded(brand_name)] = brand_create(name=brand_name)
            except ValidationError as error:
                # Refused as added meanwhile (by staff, by another import) since the batch read
                # the brands: that one is the row's brand. Any other refusal is the row's problem.
                added_meanwhile = Brand.objects.filter(folded_name=folded(brand_name)).first()
                if added_meanwhile is None:
                    report.problems.append((line, f"brand {_message(error)}"))
                    return
                brand = self.brands[folded(brand_name)] = added_meanwhile
        car.brand = brand
        self.cars.append((line, car, status == CarStatus.WITHDRAWN))

    def add(self, report: ImportReport) -> None:
        """Add the checked cars; those whose stock code, plate or VIN is taken are reported. A plate
        is compared bare ("AB12 CDE" is "AB12CDE"), as the database holds it unique.

        A row naming a stored car (by its stock code, or by its plate when it has none) is an earlier
        run's, skipped, when that car is the row's brand, model and years; else it is reported, never
        taken for another car's resumed row."""
        by_code = stored_cars("stock_code", {car.stock_code for _, car, _ in self.cars} - {""})
        by_plate = stored_cars("plate", {_key("plate", car) for _, car, _ in self.cars} - {""})
        taken = {
            "stock_code": set(by_code),
            "plate": set(by_plate),
            "vin": values_stored(Car, "vin", {car.vin for _, car, _ in self.cars} - {""}),
        }
        seen: dict[str, set[str]] = {"stock_code": set(), "plate": set(), "vin": set()}
        kept = []
        for line, car, withdrawn in self.cars:
            named = "stock_code" if car.stock_code else "plate"
            stored = by_code.get(car.stock_code) if car.stock_code else by_plate.get(_key("plate", car))
            if stored is not None:
                said = f"{LABELS[named]} {getattr(car, named)}"
                if stored.is_the_car(car) and stored.status != CarStatus.SOLD:
                    report.already_in_stock += 1
                elif stored.is_the_car(car):  # sold since: no longer stock, and never imported again
                    report.problems.append((line, f"{said} is a car sold since: {stored}"))
                else:
                    report.problems.append((line, f"{said} is another car's: {stored}"))
                continue
            clash = next(
                (name for name in ("plate", "vin", "stock_code")
                 if getattr(car, name) and (_key(name, car) in taken[name] or _key(name, car) in seen[name])),
                None,
            )  # fmt: skip
            if clash:
                said = f": {by_plate[_key(clash, car)]}" if clash == "plate" and _key(clash, car) in by_plate else ""
                report.problems.append((line, f"{LABELS[clash]} {getattr(car, clash)} is another car's{said}"))
                continue
            for name in seen:
                seen[name].add(_key(name, car))
            kept.append((car, withdrawn))
        added = cars_add_many(cars=[car for car, _ in kept])
        withdrawn_ids = [car.pk for car, (_, withdrawn) in zip(added, kept, strict=True) if withdrawn]
        if withdrawn_ids:
            cars_withdraw(car_ids=withdrawn_ids)
        report.added += len(added)


LABELS = {"plate": "plate", "vin": "VIN", "stock_code": "stock code"}


@dataclass(frozen=True)
class StoredCar:
    """What names a stored car to whoever imports: enough to tell a row of an earlier run from another car."""

    brand_id: int
    brand_name: str
    model: str
    factory_year: int
    model_year: int
    stock_code: str
    status: str

    def is_the_car(self, car: Car) -> bool:
        return (self.brand_id, self.model, self.factory_year, self.model_year) == (
            car.brand_id, car.model, car.factory_year, car.model_year
        )  # fmt: skip

    def __str__(self) -> str:
        return f"{self.brand_name} {self.model} {self.factory_year}, stock code {self.stock_code}"


_STORED_COLUMNS = ("brand_id", "brand__name", "model", "factory_year", "model_year", "stock_code", "status")


def stored_cars(name: str, keys: set[str]) -> dict[str, StoredCar]:
    """The stored cars holding these stock codes, or these plates bare (read from the index that
    keeps them unique), by that key."""
    if not keys:
        return {}
    if name == "plate":
        # First which plates are taken, from the unique index alone (on PostgreSQL an index-only
        # scan: asked for more columns, it read every car of the table, batch after batch); then
        # the cars of those few.
        bare = Car.objects.annotate(key=PlateBare("plate"))
        taken = set(bare.filter(key__in=keys).values_list("key", flat=True))
        rows = bare.filter(key__in=taken) if taken else bare.none()
    else:
        rows = Car.objects.annotate(key=F(name)).filter(**{f"{name}__in": keys})
    return {key: StoredCar(*car) for key, *car in rows.values_list("key", *_STORED_COLUMNS)}


def _key(name: str, car: Car) -> str:
    """What makes `car`'s value of `name` another car's: a plate bare, the rest as stored."""
    value = getattr(car, name)
    return plate_bare(value) if name == "plate" else value


def cars_import(
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], object] = lambda rows: None,
) -> ImportReport:
    """Import (line number, CSV row) pairs; returns what was added and what was skipped, and why.

    Each batch of `batch_rows` rows commits on its own: a failure (the database gone) loses that
    batch only, and running the import again skips the cars already in stock (same stock code,
    or same plate for rows without one), so it resumes where it stopped.
    """
    report = ImportReport()
    cleaner = _Cleaner()
    for chunk in _chunks(rows, batch_rows):
        report = _batch_added(chunk, cleaner, report)
        progress(len(chunk))
    return report


def _batch_added(chunk: list[tuple[int, dict[str, str]]], cleaner: _Cleaner, report: ImportReport) -> ImportReport:
    """The report once this batch is in. A car written meanwhile by someone else with a plate, VIN
    or stock code of this batch fails the batch's insert: the batch is rolled back and tried
    again, once, and counts that row as it counts any (already in stock, or a clash) rather than
    stopping the import."""
    try:
        return _batch_tried(chunk, cleaner, report)
    except IntegrityError:
        return _batch_tried(chunk, cleaner, report)


def _batch_tried(chunk: list[tuple[int, dict[str, str]]], cleaner: _Cleaner, report: ImportReport) -> ImportReport:
    brands = {brand.folded_name: brand for brand in Brand.objects.all()}  # a rolled-back batch's are gone
    tried = replace(report, problems=list(report.problems))
    with transaction.atomic():
        batch = _Batch(brands, cleaner)
        for line, row in chunk:
            batch.car_of(line, row, tried)
        batch.add(tried)
    return tried


def _chunks(rows: Iterable[tuple[int, dict[str, str]]], size: int) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
