import re

from django.db import migrations

# The sentence the old offline writer put in every generated text, e.g. " Yours for $45,999.99."
OLD_PRICE_SENTENCE = re.compile(r" Yours for [^\d\s]*\s?[\d,]+(?:\.\d+)?\.(?= Ask us for a test drive\.)")


def drop_stated_prices(apps, schema_editor):
    """Generated texts no longer state the price (it went stale on every price change).

    Only the old writer's exact sentence, before its closing line, is removed, so a text staff
    wrote by hand is left as it is.
    """
    Car = apps.get_model("catalog", "Car")
    for pk, bio in Car.objects.filter(bio__contains=" Yours for ").values_list("pk", "bio").iterator():
        cleaned = OLD_PRICE_SENTENCE.sub("", bio)
        if cleaned != bio:
            Car.objects.filter(pk=pk).update(bio=cleaned)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_brand_slug_history")]

    operations = [migrations.RunPython(drop_stated_prices, migrations.RunPython.noop)]
