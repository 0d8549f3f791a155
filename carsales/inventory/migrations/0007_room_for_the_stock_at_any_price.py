from decimal import Decimal
from importlib import import_module

from django.db import migrations, models

# The snapshot trigger names cars_value (AFTER UPDATE OF ...), and PostgreSQL alters no type of a
# column a trigger names: the trigger is dropped for the change and made again as 0005 made it.
snapshot_trigger = import_module("carsales.inventory.migrations.0005_snapshot_each_totals_change")

# A car may cost up to 9,999,999,999.99: 16 digits held the stock of 10,000 such cars only, after
# which every car write failed (numeric field overflow); 20 hold a hundred million.
STOCK_VALUE = models.DecimalField(
    decimal_places=2, default=Decimal("0"), help_text="Total asking price of the cars in stock.", max_digits=20
)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0006_own_writes"),
    ]

    operations = [
        migrations.RunPython(snapshot_trigger.drop_totals_snapshot, snapshot_trigger.add_totals_snapshot),
        migrations.AlterField(model_name="carinventory", name="cars_value", field=STOCK_VALUE),
        migrations.AlterField(model_name="inventorytotals", name="cars_value", field=STOCK_VALUE),
        migrations.RunPython(snapshot_trigger.add_totals_snapshot, snapshot_trigger.drop_totals_snapshot),
    ]
