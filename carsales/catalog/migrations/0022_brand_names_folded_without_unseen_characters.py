"""Brands' folded names again, now that folding drops what does not show and runs of spaces: a
brand whose new folded name another brand already holds keeps its old one until it is renamed
(the name form then says which brand it looks like)."""

import unicodedata

from django.db import migrations


def _folded(name):  # catalog.models.folded as of this migration
    decomposed = unicodedata.normalize("NFKD", name)
    seen = "".join(
        char
        for char in decomposed
        if not unicodedata.combining(char)
        and not (unicodedata.category(char) in {"Cf", "Cc"} and not char.isspace())
    )
    return " ".join(seen.split()).casefold()


def fold_again(apps, schema_editor):
    Brand = apps.get_model("catalog", "Brand")
    taken = set(Brand.objects.values_list("folded_name", flat=True))
    for brand in Brand.objects.order_by("pk").only("pk", "name", "folded_name"):
        new = _folded(brand.name)
        if new != brand.folded_name and new not in taken:
            taken.discard(brand.folded_name)
            taken.add(new)
            Brand._base_manager.filter(pk=brand.pk).update(folded_name=new)  # a plain update: the name is as it was


class Migration(migrations.Migration):
    dependencies = [("catalog", "0021_plates_and_vins_in_one_format")]

    operations = [migrations.RunPython(fold_again, migrations.RunPython.noop)]
