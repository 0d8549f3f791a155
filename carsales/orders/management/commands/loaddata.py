"""Django's loaddata, refusing a load that leaves the stock contradicting the orders.

A fixture writes rows as given (raw): it can load a reserved or sold car that no order holds,
which nothing could ever release. The check runs inside loaddata's own transaction, after every
fixture is in, so a load of cars and their orders together passes, and a refused load leaves
nothing behind. The inventory needs no check: its receivers count raw saves like any other.
"""

from collections.abc import Sequence

from django.core.management import CommandError
from django.core.management.commands import loaddata

from carsales.orders.selectors import stock_contradictions


class Command(loaddata.Command):
    def loaddata(self, fixture_labels: Sequence[str]) -> None:
        super().loaddata(fixture_labels)
        problems = stock_contradictions()
        if problems:
            raise CommandError(
                "Nothing was loaded: the fixture leaves the stock contradicting the orders — "
                + "; ".join(problems[:10])
                + ("…" if len(problems) > 10 else "")
                + ". Load the orders that hold these cars with them, or load the cars as available."
            )
