import re

from django.db import migrations, models

# Kept here as they were when the constraints were made: a migration is frozen history. \A and \Z,
# not ^ and $: SQLite's REGEXP (Python's re.search) lets $ match before a final newline.
PLATE_PATTERN = r"\A[A-Z0-9](?:[A-Z0-9 -]*[A-Z0-9])?\Z"
VIN_PATTERN = r"\A[A-HJ-NPR-Z0-9]{17}\Z"
PLATE_LENGTH = 16


def plates_as_stored(apps, schema_editor):
    """A plate written past the form ("ab1 " from a shell or a fixture) is stored as the form
    stores it, before the constraint holds every plate to that; one no form would take (another
    car's once in capitals, a character no plate has, too long) stops the migration, named."""
    Car = apps.get_model("catalog", "Car")
    refused = []
    for pk, plate in Car.objects.values_list("pk", "plate").iterator():
        stored = " ".join(plate.split()).upper()
        if len(stored) > PLATE_LENGTH or not re.fullmatch(PLATE_PATTERN, stored):
            refused.append(f"car #{pk}'s plate {plate!r} is not letters A to Z, digits, spaces and hyphens")
        elif stored == plate:
            continue
        elif Car.objects.filter(plate=stored).exists():
            refused.append(f"car #{pk}'s plate {plate!r} is another car's ({stored})")
        else:
            Car.objects.filter(pk=pk).update(plate=stored)
    if refused:
        raise RuntimeError("; ".join(refused[:10]) + ". Correct these plates, then migrate again.")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0020_brands_in_folded_order"),
    ]

    operations = [
        migrations.RunPython(plates_as_stored, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="car",
            constraint=models.CheckConstraint(condition=models.Q(plate__regex=PLATE_PATTERN), name="car_plate_format"),
        ),
        # The VIN's format, held to the whole value as the plate's (raw SQL could add a newline).
        migrations.RemoveConstraint(model_name="car", name="car_vin_format"),
        migrations.AddConstraint(
            model_name="car",
            constraint=models.CheckConstraint(
                condition=models.Q(vin="") | models.Q(vin__regex=VIN_PATTERN), name="car_vin_format"
            ),
        ),
    ]
