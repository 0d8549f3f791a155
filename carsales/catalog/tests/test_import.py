"""import_cars reads what export_cars writes: bad rows reported by line, batches, resumable, exact stock."""

import csv
import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from carsales.audit.models import AuditEntry
from carsales.catalog.exports import CSV_COLUMNS
from carsales.catalog.imports import NULLABLE, _Cleaner, cars_import
from carsales.catalog.models import Brand, Car, CarStatus, CarVinReport, PriceChange
from carsales.catalog.services import car_delete, cars_withdraw
from carsales.conftest import BrandFactory, CarFactory, sold_car
from carsales.core.tests.invariants import assert_store_is_true
from carsales.events.tests.processes import ROOT
from carsales.inventory.models import CarInventory
from carsales.inventory.selectors import inventory_current

pytestmark = pytest.mark.django_db
HONDA_VIN = "1HGCM82633A004352"


def write(path: Any, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: row.get(name, "") for name in CSV_COLUMNS})


COMPARED = [name for name in CSV_COLUMNS if name not in ("brand", "created_at")]


def comparable(car: Car) -> tuple[Any, ...]:
    return (car.brand.name, *(getattr(car, name) for name in COMPARED))


def test_an_export_round_trips_through_an_import_with_the_stock_exact(tmp_path: Any, run_tasks: Any):
    honda = BrandFactory(name="Honda")
    CarFactory(brand=honda, model="=cmd()", vin=HONDA_VIN, mileage=1200, fuel="petrol", body="sedan", bio="'-5 it says")
    withdrawn = CarFactory(brand=BrandFactory(name="Škoda"), model="Octavia", value=None, doors=5, bio="Estate.")
    cars_withdraw(car_ids=[withdrawn.pk])
    sold_car(model="Sold one")
    target = tmp_path / "cars.csv"
    call_command("export_cars", str(target), verbosity=0)
    before = sorted(comparable(car) for car in Car.objects.exclude(status=CarStatus.SOLD).select_related("brand"))
    for car in Car.objects.exclude(status=CarStatus.SOLD):
        car_delete(car=car)

    call_command("import_cars", str(target), verbosity=0)
    run_tasks()

    after = sorted(comparable(car) for car in Car.objects.exclude(status=CarStatus.SOLD).select_related("brand"))
    # The formula-looking model and the bio starting with an apostrophe came back as typed, the
    # withdrawn car withdrawn.
    assert after == before
    snapshot = inventory_current()
    assert (snapshot.cars_count, snapshot.withdrawn_count, snapshot.available_count) == (2, 1, 1)
    assert_store_is_true()
    imported = Car.objects.get(vin=HONDA_VIN)
    assert CarVinReport.objects.get(car=imported).manufacturer == "Honda"
    assert PriceChange.objects.filter(car=imported, old_value=None).count() == 1


def test_bad_rows_are_reported_by_line_and_skipped_and_the_others_added(tmp_path: Any, capsys: Any):
    kia = BrandFactory(name="Kia")
    CarFactory(brand=kia, model="Ceed", factory_year=2020, model_year=2020, plate="TAKEN1")  # an earlier run's
    other = CarFactory(brand=BrandFactory(name="Fiat"), model="Panda", factory_year=2018, plate="OTHER1")
    sold_car(brand=kia, model="Ceed", factory_year=2020, model_year=2020, plate="SOLD1")  # an earlier run's, sold
    target = tmp_path / "cars.csv"
    good = {"brand": "Kia", "model": "Ceed", "factory_year": 2020, "model_year": 2020}
    write(target, [
        {**good, "plate": "OK1", "value": "15000"},
        {**good, "plate": "OK2", "fuel": "steam"},
        {**good, "plate": "OK3", "vin": "1HGCM82643A004352"},
        {**good, "plate": "TAKEN1"},
        {**good, "plate": "OK1"},
        {**good, "plate": "OK6", "status": "sold"},
        {**good, "plate": "OK7", "factory_year": "soon"},
        {**good, "plate": "OK8", "value": "0"},
        {**good, "plate": "OTHER1"},
        {**good, "plate": "OK10", "stock_code": other.stock_code},
        {**good, "plate": "SOLD1"},
    ])  # fmt: skip

    call_command("import_cars", str(target), verbosity=0)

    output = capsys.readouterr()
    errors = output.err
    assert set(Car.objects.values_list("plate", flat=True)) == {"TAKEN1", "OTHER1", "SOLD1", "OK1"}
    assert "Added 1 car; 1 already in stock; 9 rows skipped." in output.out  # TAKEN1: as after an earlier run
    lines = [int(line.split(":")[0].split()[1]) for line in errors.splitlines() if line.startswith("line ")]
    assert lines == sorted(lines)
    assert "line 3: fuel: Value 'steam' is not a valid choice." in errors
    assert "line 4: vin: The check digit" in errors
    assert "line 6: plate OK1 is another car's" in errors
    assert "line 7: a sold car comes with its order" in errors and "line 8: factory_year:" in errors
    assert "line 9: value: A price is above zero; leave it empty for a car priced on request." in errors
    # Another car's plate or stock code is never taken for a row of an earlier run: said, with that car.
    assert f"line 10: plate OTHER1 is another car's: Fiat Panda 2018, stock code {other.stock_code}" in errors
    assert f"line 11: stock code {other.stock_code} is another car's: Fiat Panda 2018, stock code" in errors
    assert "line 12: plate SOLD1 is a car sold since: Kia Ceed 2020, stock code" in errors


def test_a_stock_code_is_one_in_any_case_and_a_status_is_read_in_any_case(tmp_path: Any, capsys: Any):
    kia = BrandFactory(name="Kia")
    stored = CarFactory(brand=kia, model="Rio", factory_year=2020, model_year=2020)
    row = {"brand": "Kia", "model": "Rio", "factory_year": 2020, "model_year": 2020}
    write(tmp_path / "cars.csv", [
        {**row, "plate": "NEW1", "stock_code": stored.stock_code.lower()},  # the stored car's: already in stock
        {**row, "plate": "NEW2", "stock_code": "abc123", "status": " Withdrawn "},
        {**row, "plate": "NEW3", "stock_code": "a b"},
        {**row, "plate": "NEW4", "stock_code": "ÄÖÜ"},
        {**row, "plate": "NEW5", "status": "bogus"},
    ])  # fmt: skip

    call_command("import_cars", str(tmp_path / "cars.csv"), verbosity=1)

    output = capsys.readouterr()
    assert "Added 1 car; 1 already in stock; 3 rows skipped." in output.out
    added = Car.objects.get(plate="NEW2")
    assert (added.stock_code, added.status) == ("ABC123", CarStatus.WITHDRAWN)
    assert "line 4: stock code A B: letters A to Z and digits only" in output.err
    assert "line 5: stock code ÄÖÜ: letters A to Z and digits only" in output.err
    assert "line 6: status bogus: a car is imported available or withdrawn" in output.err
    with pytest.raises(CommandError, match="a batch holds at least one row"):
        call_command("import_cars", str(tmp_path / "cars.csv"), "--batch-rows", "0")


def test_each_batch_commits_alone_and_running_again_resumes(tmp_path: Any, monkeypatch: Any):
    BrandFactory(name="Kia")
    rows = [{"brand": "Kia", "model": "Rio", "factory_year": 2020, "model_year": 2020, "plate": f"P{n}",
             "value": "1000"} for n in range(7)]  # fmt: skip
    target = tmp_path / "cars.csv"
    write(target, rows)
    from carsales.catalog import imports

    real = imports.cars_add_many
    calls = []

    def failing_third_batch(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(imports, "cars_add_many", failing_third_batch)
    with pytest.raises(RuntimeError):
        call_command("import_cars", str(target), "--batch-rows", "2", verbosity=0)
    assert Car.objects.count() == 4 and inventory_current().cars_count == 4  # two batches, whole

    monkeypatch.setattr(imports, "cars_add_many", real)
    call_command("import_cars", str(target), "--batch-rows", "2", verbosity=0)

    assert sorted(Car.objects.values_list("plate", flat=True)) == sorted(f"P{n}" for n in range(7))
    assert inventory_current().cars_value == Decimal("7000")
    assert_store_is_true()


def test_a_car_written_meanwhile_with_a_plate_of_the_batch_is_counted_not_a_crash(
    tmp_path: Any, monkeypatch: Any, capsys: Any
):
    BrandFactory(name="Kia")
    write(tmp_path / "cars.csv", [
        {"brand": "Kia", "model": "Rio", "factory_year": 2020, "model_year": 2020, "plate": plate, "value": "1000"}
        for plate in ("RACE1", "CALM1")
    ])  # fmt: skip
    from carsales.catalog import imports

    real, reads = imports.stored_cars, []

    def read_before_the_other_writer(name: str, keys: Any) -> Any:
        stored = real(name, keys)
        if name != "plate":
            return stored
        reads.append(keys)
        return {key: car for key, car in stored.items() if key != "RACE1"} if len(reads) == 1 else stored

    # The other writer's car: this file's row, imported by a run going on meanwhile.
    CarFactory(brand=Brand.objects.get(name="Kia"), model="Rio", factory_year=2020, model_year=2020, plate="RACE1")
    monkeypatch.setattr(imports, "stored_cars", read_before_the_other_writer)
    call_command("import_cars", str(tmp_path / "cars.csv"), verbosity=1)

    assert len(reads) == 2  # the batch, rolled back by the clash, was read again
    # A row without a stock code whose plate is stored is taken for an earlier run's: skipped.
    assert "Added 1 car; 1 already in stock; 0 rows skipped." in capsys.readouterr().out
    assert sorted(Car.objects.values_list("plate", flat=True)) == ["CALM1", "RACE1"]
    assert_store_is_true()


def test_an_import_costs_one_snapshot_per_batch_and_a_few_queries_per_batch(
    tmp_path: Any, django_assert_max_num_queries: Any
):
    BrandFactory(name="Kia")
    rows = [{"brand": "Kia", "model": "Rio", "factory_year": 2020, "model_year": 2020, "plate": f"Q{n}",
             "value": "1000"} for n in range(300)]  # fmt: skip
    snapshots = CarInventory.objects.count()

    with django_assert_max_num_queries(75):  # 3 batches, 25 statements each at most
        report = cars_import(
            ((n + 2, {k: str(v) for k, v in row.items()}) for n, row in enumerate(rows)), batch_rows=100
        )

    assert report.added == 300 and CarInventory.objects.count() == snapshots + 3
    assert AuditEntry.objects.filter(action="car.created").count() == 300  # as 300 single saves would log


def test_the_command_names_the_columns_a_file_lacks(tmp_path: Any):
    target = tmp_path / "cars.csv"
    target.write_text("brand,model\nKia,Rio\n")

    with pytest.raises(Exception, match="has no column factory_year, model_year, plate"):
        call_command("import_cars", str(target), verbosity=0)


UNREADABLE = {  # after a good row: (what follows it, what the refusal says)
    "latin-1": ("Citroën,C3,2020,2020,P1\n".encode("latin-1"), "is not UTF-8 text"),
    "utf-16": ("Kia,Rio,2020,2020,P2\n".encode("utf-16"), "is not UTF-8 text"),
    "a cell past the csv module's limit": (b'Kia,"' + b"x" * 200_000 + b'",2020,2020,P1\n', "line 3: field larger"),
}


@pytest.mark.parametrize(("tail", "said"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_file_that_cannot_be_read_is_refused_saying_where_before_any_row_is_added(tmp_path: Any, tail, said):
    target = tmp_path / "cars.csv"
    target.write_bytes(b"brand,model,factory_year,model_year,plate\nKia,Rio,2020,2020,GOOD1\n" + tail)

    with pytest.raises(CommandError, match=said):
        call_command("import_cars", str(target), "--batch-rows", "1", verbosity=0)
    assert not Car.objects.exists()


def test_a_row_holding_a_nul_character_is_reported_and_skipped(tmp_path: Any, capsys: Any):
    target = tmp_path / "cars.csv"
    write(target, [
        {"brand": "Kia", "model": "Civ\x00ic", "factory_year": 2020, "model_year": 2020, "plate": "NUL1"},
        {"brand": "Kia", "model": "Rio", "factory_year": 2020, "model_year": 2020, "plate": "OK1"},
    ])  # fmt: skip

    call_command("import_cars", str(target), verbosity=0)

    assert list(Car.objects.values_list("plate", flat=True)) == ["OK1"]
    assert "line 2: a cell holds a NUL character" in capsys.readouterr().err


def test_cells_cleaned_once_per_import_come_out_as_djangos_clean_fields_makes_them():
    """Each row cleaned twice by one cleaner (the second time from what it remembered) gives the
    values and the errors Model.clean_fields gives, good cells and bad."""
    cells = {
        "model": ["Golf", "", "x" * 200],
        "factory_year": ["2019", "abc", "1700"],
        "model_year": ["2020", "-1"],
        "plate": ["AB12CD", "a b c"],
        "value": ["12000.50", "twelve", "-5"],
        "mileage": ["", "100", "-3"],
        "fuel": ["diesel", "steam"],
        "doors": ["5", "0", "x"],
        "vin": ["", "WVWZZZ1JZXW000001", "short"],
    }
    rows = [{name: values[n % len(values)] for name, values in cells.items()} for n in range(12)]
    cleaner = _Cleaner()
    fields = {field.name for field in cleaner.fields}
    others = [field.name for field in Car._meta.concrete_fields if field.name not in fields]
    for row in rows * 2:
        values = {name: None if value == "" and NULLABLE[name] else value for name, value in row.items()}
        mine, djangos = Car(**values), Car(**values)
        outcomes = []
        for car, clean in ((mine, cleaner.clean_fields), (djangos, lambda car: car.clean_fields(exclude=others))):
            try:
                clean(car)
                outcomes.append({name: getattr(car, name) for name in sorted(fields)})
            except ValidationError as error:
                outcomes.append(error.message_dict)
        assert outcomes[0] == outcomes[1], row


def test_a_plate_spaced_or_dashed_apart_is_one_plate_on_every_way_in(tmp_path: Any, staff_api: Any, capsys: Any):
    """The database holds a plate unique bare (car_plate_bare): "AB12 CDE", "AB12CDE" and "ab12-cde"
    are one plate. The form, the API and an import say so on the plate; the database refuses the rest."""
    from django.db import IntegrityError, transaction
    from django.db.models import QuerySet

    from carsales.catalog.models import PLATE_TAKEN

    kia = BrandFactory(name="Kia")
    CarFactory(brand=kia, plate="AB12 CDE")
    typed = {"brand": kia.slug, "model": "Rio", "factory_year": 2020, "model_year": 2020, "value": "1000"}

    by_api = staff_api.post("/api/cars/", {**typed, "plate": "ab12-cde"}, format="json")
    as_stored = staff_api.post("/api/cars/", {**typed, "plate": " AB12 CDE "}, format="json")
    write(tmp_path / "cars.csv", [{**typed, "brand": "Kia", "plate": "AB12CDE", "stock_code": "NEWCODE001"}])
    call_command("import_cars", str(tmp_path / "cars.csv"), verbosity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        QuerySet.update(Car.objects.filter(pk=CarFactory(brand=kia).pk), plate="AB-12CDE")  # past every check

    assert by_api.status_code == as_stored.status_code == 400
    assert by_api.json() == as_stored.json() == {"plate": [PLATE_TAKEN]}  # one wording, however it is typed
    assert "line 2: plate AB12CDE is another car's" in capsys.readouterr().err
    assert list(Car.objects.filter(plate__in=["AB12CDE", "AB12-CDE", "AB-12CDE"])) == []


def migrated_back_to(catalog_migration: str, tmp_path: Any) -> tuple[dict[str, Any], list[str]]:
    """A real SQLite database migrated forth, then back to `catalog_migration`: subprocess.run's
    keyword arguments for it, and the command that manages it."""
    env = {"DJANGO_SETTINGS_MODULE": "carsales.settings.dev", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 120}
    manage = [sys.executable, "manage.py"]
    assert subprocess.run([*manage, "migrate", "-v0"], **run).returncode == 0  # type: ignore[call-overload]
    back = subprocess.run([*manage, "migrate", "catalog", catalog_migration, "-v0"], **run)  # type: ignore[call-overload]
    assert back.returncode == 0, back.stderr
    return run, manage


# Two cars sharing one plate spaced apart, in a database migrated up to before car_plate_bare was unique.
SHARED_PLATE = textwrap.dedent(
    """
    import django
    django.setup()
    from carsales.catalog.models import Brand, Car
    from carsales.catalog.services import car_create

    kia = Brand.objects.create(name="Kia", slug="kia")
    first = car_create(brand=kia, model="Rio", factory_year=2020, model_year=2020, plate="AB12 CDE")
    second = car_create(brand=kia, model="Rio", factory_year=2020, model_year=2020, plate="XY1")
    Car.objects.filter(pk=second.pk).update(plate="AB12-CDE")  # as an older release let it be
    print(first.pk, second.pk)
    """
)


def test_the_migration_making_plates_unique_bare_names_the_cars_sharing_one_and_changes_nothing(tmp_path: Any):
    run, manage = migrated_back_to("0023", tmp_path)
    first, second = subprocess.run([sys.executable, "-c", SHARED_PLATE], **run).stdout.split()  # type: ignore[call-overload]

    refused = subprocess.run([*manage, "migrate", "-v0"], **run)  # type: ignore[call-overload]

    assert refused.returncode != 0
    assert f"car #{first} (AB12 CDE), car #{second} (AB12-CDE)" in refused.stderr
    fixed = [
        sys.executable,
        "manage.py",
        "shell",
        "-c",
        f"from carsales.catalog.models import Car; Car.objects.filter(pk={second}).update(plate='XY1')",
    ]
    assert subprocess.run(fixed, **run).returncode == 0  # type: ignore[call-overload]  # staff give it its own
    assert subprocess.run([*manage, "migrate", "-v0"], **run).returncode == 0  # type: ignore[call-overload]


# Cars whose stock codes an older import stored as typed, in a database migrated up to before codes were capitals.
CODES_AS_TYPED = textwrap.dedent(
    """
    import django
    django.setup()
    from django.db import connection
    from carsales.catalog.models import Brand
    from carsales.catalog.services import car_create

    kia = Brand.objects.create(name="Kia", slug="kia")
    cars = [car_create(brand=kia, model="Rio", factory_year=2020, model_year=2020, plate=f"P{n}") for n in range(3)]
    with connection.cursor() as cursor:
        for car, code in zip(cars, ["abc123", "xyz789", "XYZ789"]):
            cursor.execute("UPDATE catalog_car SET stock_code = %s WHERE id = %s", [code, car.pk])
    print(*(car.pk for car in cars))
    """
)


def test_the_migration_writing_stock_codes_in_capitals_names_a_code_it_would_make_another_cars(tmp_path: Any):
    run, manage = migrated_back_to("0024", tmp_path)
    typed, clashing, capitals = subprocess.run([sys.executable, "-c", CODES_AS_TYPED], **run).stdout.split()  # type: ignore[call-overload]

    refused = subprocess.run([*manage, "migrate", "-v0"], **run)  # type: ignore[call-overload]
    assert refused.returncode != 0 and f"car #{clashing} (xyz789, car #{capitals}'s in capitals)" in refused.stderr

    sql = f"UPDATE catalog_car SET stock_code = 'XYZ788' WHERE id = {clashing}"  # staff give it its own
    fix = f"from django.db import connection; connection.cursor().execute({sql!r})"
    assert subprocess.run([*manage, "shell", "-c", fix], **run).returncode == 0  # type: ignore[call-overload]
    migrated = subprocess.run([*manage, "migrate", "-v0"], **run)  # type: ignore[call-overload]
    assert migrated.returncode == 0, migrated.stderr
    read = f"from carsales.catalog.models import Car; print(Car.objects.get(pk={typed}).stock_code)"
    said = subprocess.run([*manage, "shell", "-c", read], **run).stdout  # type: ignore[call-overload]
    assert said.splitlines()[-1] == "ABC123"
