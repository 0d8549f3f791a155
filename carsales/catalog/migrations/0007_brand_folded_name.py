import unicodedata

from django.db import migrations, models


def fold(name):
    decomposed = unicodedata.normalize("NFKD", name.strip())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def fill_folded_names(apps, schema_editor):
    """Existing brands get their folded name; two that fold alike (older "Škoda" and "skoda")
    keep apart with a suffix, for staff to merge by hand."""
    Brand = apps.get_model("catalog", "Brand")
    taken = set()
    for brand in Brand.objects.order_by("pk"):
        name, number = fold(brand.name), 1
        while name in taken:
            number += 1
            name = f"{fold(brand.name)} ({number})"
        taken.add(name)
        brand.folded_name = name
        brand.save(update_fields=["folded_name"])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_car_guarded_base_manager")]

    operations = [
        migrations.AddField(
            model_name="brand", name="folded_name", field=models.CharField(max_length=80, null=True, editable=False)
        ),
        migrations.RunPython(fill_folded_names, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="brand",
            name="folded_name",
            field=models.CharField(max_length=80, unique=True, editable=False),
        ),
    ]
