from collections import defaultdict
from decimal import Decimal

from django.db import migrations, models
from django.utils import timezone


def days_of_events_and_figures(apps, schema_editor):
    """Each event gets the day it counts on (a void: its sale's day), and the daily figures are
    recounted from the events, so past voids stop pushing their own day negative."""
    OrderEvent = apps.get_model("analytics", "OrderEvent")
    DailySales = apps.get_model("analytics", "DailySales")
    paid_day = {}
    for event in OrderEvent.objects.order_by("id"):
        event.day = timezone.localdate(event.created_at)
        if event.kind == "paid":
            paid_day[event.order_id] = event.day
        event.save(update_fields=["day"])
    for event in OrderEvent.objects.filter(kind="sale_voided"):
        event.day = paid_day.get(event.order_id, event.day)
        event.save(update_fields=["day"])
    figures = defaultdict(lambda: [0, 0, Decimal("0"), 0])
    for event in OrderEvent.objects.all():
        row = figures[event.day]
        if event.kind == "placed":
            row[0] += 1
        elif event.kind == "paid":
            row[1] += 1
            row[2] += event.amount
        elif event.kind == "sale_voided":
            row[1] -= 1
            row[2] -= event.amount
            row[3] += 1
    DailySales.objects.all().delete()
    DailySales.objects.bulk_create(
        DailySales(day=day, orders_placed=p, sales_count=s, revenue=r, sales_voided=v)
        for day, (p, s, r, v) in figures.items()
    )


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="dailysales",
            name="sales_voided",
            field=models.IntegerField(default=0, help_text="Sales of this day voided since (already taken off)."),
        ),
        migrations.AddField(model_name="orderevent", name="day", field=models.DateField(null=True)),
        migrations.RunPython(days_of_events_and_figures, migrations.RunPython.noop),
        migrations.AlterField(model_name="orderevent", name="day", field=models.DateField(db_index=True)),
    ]
