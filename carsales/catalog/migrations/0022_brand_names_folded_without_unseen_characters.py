"""Brands' folded names again, now that folding drops what does not show (a zero-width character,
a variation selector, a filler) and runs of spaces. A brand whose new folded
name another brand already holds keeps its old one, and is named here: the two look alike to a
buyer; rename one (its name form then says which brand it looks like)."""

import sys
import unicodedata
from collections import Counter

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
    seen = "".join(char for char in decomposed if not unicodedata.combining(char) and not _unseen(char))
    return " ".join(seen.split()).casefold()


def fold_again(apps, schema_editor):
    Brand = apps.get_model("catalog", "Brand")
    brands = {pk: (name, old, _folded(name)) for pk, name, old in Brand.objects.values_list("pk", "name", "folded_name")}
    wanted = Counter(new for _name, _old, new in brands.values())
    moving = {pk for pk, (_name, old, new) in brands.items() if new != old and wanted[new] == 1}
    while True:  # a fold a brand that stays keeps is not free to take
        kept = {old for pk, (_name, old, _new) in brands.items() if pk not in moving}
        blocked = {pk for pk in moving if brands[pk][2] in kept}
        if not blocked:
            break
        moving -= blocked
    for pk, (name, old, new) in brands.items():
        if new != old and pk not in moving:
            alike = sorted(other for key, (other, *folds) in brands.items() if key != pk and new in folds)
            sys.stdout.write(f"\n  Brand {name!r} (#{pk}) looks like {', '.join(map(repr, alike))}: rename one of them.")
    # Plain updates (the names are as they were); out of each other's way first, as one brand may
    # take the fold another leaves. A fold is case-folded: none holds capitals.
    plain = Brand._base_manager
    for pk in moving:
        plain.filter(pk=pk).update(folded_name=f"MOVING {pk}")
    for pk in moving:
        plain.filter(pk=pk).update(folded_name=brands[pk][2])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0021_plates_and_vins_in_one_format")]

    operations = [migrations.RunPython(fold_again, migrations.RunPython.noop)]
