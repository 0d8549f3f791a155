"""Events of the catalogue, sent by `catalog.services` inside the transaction of the change."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.dispatch import Signal

car_stock_moved = Signal()
"""Sent when cars change status through a stock transition (reserve, sell, release, withdraw, relist).

The transitions are cars_reserve, cars_sell, cars_release, cars_withdraw and cars_relist.

kwargs: `car_ids` (list of ids, rows locked by the sender), `old_status` and `new_status`
(CarStatus values; every car in one send moved from the same status to the same status),
`value` (the moved cars' asking prices summed as stored under the lock; Decimal, 0 for none).
Sent with `send`, not `send_robust`: its receivers keep derived data (the inventory), and a
failure must roll back the transition rather than leave the figures wrong. Not sent for a
transition that moved no car. This is the only way a stored car's status changes: Car.save()
never writes it, and a queryset update of status is refused.
"""


cars_added = Signal()
"""Sent when cars are added many at once (cars_add_many: an import), instead of N post_save.

kwargs: `car_ids` (list of the new cars' ids, in the adding transaction; all available, as any
new car is). Sent with `send`, not `send_robust`: its receivers keep derived data (the
inventory, with one aggregate whatever the number), and a failure must roll the batch back.
Receivers with outside effects are durable (one delivery per batch).
"""


@dataclass(frozen=True)
class PriceMove:
    """One car's asking price as a bulk write moved it (cars_repriced)."""

    car: Any  # the Car as the write left it, brand loaded
    status: str  # its status (a bulk write of prices never moves one)
    old: Decimal | None
    new: Decimal | None


cars_repriced = Signal()
"""Sent when a bulk write (queryset update, bulk_update) changed the prices of many cars at once.

Sent by `update(value=...)` and `bulk_update(..., ["value"])` instead of N post_save, one send per
UPDATE statement.

kwargs: `changes` (list of PriceMove, one per car whose stored price the write changed, read
under lock before and after it, in car id order). Sent with `send`: its receivers keep derived
data (the inventory with one aggregate, the price history, the audit log), and a failure must
roll the write back. Not sent when no price changed.
"""


@dataclass(frozen=True)
class CarEdit:
    """What a bulk write changed of one car, besides its price (cars_edited)."""

    car: Any  # the Car as the write left it, brand loaded
    fields: list[str]  # the names of the fields people type in whose stored value it changed, sorted


cars_edited = Signal()
"""Sent when a bulk write (queryset update, bulk_update) changed what people type in of many cars.

The fields people type in (a model, a mileage, a brand...) besides the price (cars_repriced).

Sent by `update(...)` and `bulk_update(...)` of such fields instead of N post_save, one send per
UPDATE statement, in its transaction.

kwargs: `edits` (list of CarEdit, one per car whose stored values the write changed, read under
lock before and after it, in car id order). Sent with `send`: its receivers keep records (the
audit log), and a failure must roll the write back. Not sent when nothing such changed.
"""


cars_removed = Signal()
"""Sent when a queryset delete removed many cars at once, instead of two signals per car.

Sent by `Car.objects.filter(...).delete()` (the admin's "delete selected" too) instead of a
pre_delete and a post_delete per car.

kwargs: `cars` (list of the deleted Car instances as stored when deleted, read under lock, brand
loaded; their pk kept). Sent with `send`, in the deleting transaction: its receivers keep derived
data (the inventory with one aggregate, the audit log); those with outside effects are durable
(one delivery per send). The rows the cars owned (photos, price history) are deleted with their
own signals first. Not sent when the queryset matched no car or a car was protected (on an order:
ProtectedError, nothing deleted).
"""


@dataclass(frozen=True)
class CarNote:
    """A line another app adds to a car's page: text, and a link to follow."""

    text: str
    link_text: str
    url: str


car_page_notes = Signal()
"""Sent by the car page to gather what other apps have to say about the car to this viewer.

kwargs: `car` (Car, brand loaded), `user` (the viewer, maybe anonymous). Each receiver returns
a CarNote or None. Sent with `send_robust`: a receiver that fails costs its note (logged),
never the page. The catalogue renders the notes without knowing which app wrote them.

A note for an anonymous viewer must follow from the car as stored: the page holding it is
replayed to every visitor who brings no cookie until the catalogue's version moves.
"""
