"""Django's loaddata, refusing a load that leaves the orders contradicted by the stock, their own
lines, or what other apps keep of them (a sale: `orders_loaded`), or a car's price contradicted by
its price history.

A fixture writes rows as given (raw): it can load a reserved or sold car that no order holds,
which nothing could ever release, an order whose totals are not its lines', a paid order with no
sale, a car repriced without its price change. The check runs inside loaddata's own transaction,
after every fixture is in, so a load of cars and their orders together passes, and a refused load
leaves nothing behind. The inventory's receivers count raw saves of cars like any other; its own
rows, loaded as given, are checked against the cars (inventory.receivers).
"""

from collections.abc import Sequence
from typing import cast

from django.core.management import CommandError
from django.core.management.commands import loaddata
from django.core.serializers.base import DeserializedObject

from carsales.catalog.selectors import price_history_contradictions
from carsales.core.state import checked_load
from carsales.orders.models import Order
from carsales.orders.selectors import loaded_order_contradictions, order_total_contradictions, stock_contradictions
from carsales.orders.signals import orders_loaded


class Command(loaddata.Command):
    def loaddata(self, fixture_labels: Sequence[str]) -> None:
        self.loaded_orders: set[int] = set()
        with checked_load():  # new rows in any state: checked below, once all are in
            super().loaddata(fixture_labels)
        problems = stock_contradictions() + order_total_contradictions() + price_history_contradictions()
        problems += loaded_order_contradictions(order_ids=self.loaded_orders)
        for _receiver, found in orders_loaded.send(sender=Order):
            problems += cast(list[str], found)
        if problems:
            raise CommandError(
                "Nothing was loaded: the fixture leaves the stock or the orders contradicted — "
                + "; ".join(problems[:10])
                + ("…" if len(problems) > 10 else "")
                + ". Load the rows that go with them together (an order's lines, cars and sale; a car's price "
                "changes; a day's sales figures and its order events), or none (a drift already stored: "
                "reconcile_inventory --fix, recount_analytics --fix)."
            )

    def save_obj(self, obj: DeserializedObject) -> bool:
        saved = super().save_obj(obj)
        if saved and isinstance(obj.object, Order):
            self.loaded_orders.add(obj.object.pk)
        return saved
