"""Brands' folded names again, now that folding drops every mark and what does not show (a
zero-width character, a variation selector, a filler) and runs of spaces. A brand whose new folded
name another brand already holds keeps its old one, and is named here: the two look alike to a
buyer; rename one (its name form then says which brand it looks like)."""

import sys
import unicodedata

from django.db import migrations

_BLANKS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def _unseen(char):
    if char in {"\u200c", "\u200d", "\u034f"} or char in _BLANKS:
        return True
    if "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef":
        return True
    return unicodedata.category(char) in {"Cf", "Cc"} and not char.isspace()


def _folded(name):  # catalog.models.folded as of this migration
    decomposed = unicodedata.normalize("NFKD", name)
    seen = "".join(char for char in decomposed if unicodedata.category(char) not in {"Mn", "Me"} and not _unseen(char))
    return " ".join(seen.split()).casefold()


def fold_again(apps, schema_editor):
    Brand = apps.get_model("catalog", "Brand")
    holders = dict(Brand.objects.values_list("folded_name", "name"))
    for brand in Brand.objects.order_by("pk").only("pk", "name", "folded_name"):
        new = _folded(brand.name)
        if new == brand.folded_name:
            continue
        if new in holders:
            sys.stdout.write(f"\n  Brand {brand.name!r} (#{brand.pk}) looks like {holders[new]!r}: rename one of them.")
            continue
        del holders[brand.folded_name]
        holders[new] = brand.name
        Brand._base_manager.filter(pk=brand.pk).update(folded_name=new)  # a plain update: the name is as it was


class Migration(migrations.Migration):
    dependencies = [("catalog", "0021_plates_and_vins_in_one_format")]

    operations = [migrations.RunPython(fold_again, migrations.RunPython.noop)]
