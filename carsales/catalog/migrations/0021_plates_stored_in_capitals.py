import django.db.models.functions.text
from django.db import migrations, models


def plates_as_stored(apps, schema_editor):
    """A plate written past the form ("ab1 " from a shell or a fixture) is stored as the form
    stores it, before the constraint holds every plate to that."""
    Car = apps.get_model("catalog", "Car")
    for pk, plate in Car.objects.values_list("pk", "plate").iterator():
        stored = plate.strip().upper()
        if stored != plate:
            if Car.objects.filter(plate=stored).exists():
                raise RuntimeError(
                    f"Car #{pk}'s plate {plate!r} is another car's ({stored}): change one, then migrate again."
                )
            Car.objects.filter(pk=pk).update(plate=stored)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0020_brands_in_folded_order"),
    ]

    operations = [
        migrations.RunPython(plates_as_stored, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="car",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("plate", django.db.models.functions.text.Upper(django.db.models.functions.text.Trim("plate")))
                ),
                name="car_plate_as_stored",
            ),
        ),
    ]
