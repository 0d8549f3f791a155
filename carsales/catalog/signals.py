"""Events of the catalogue, sent by `catalog.services` inside the transaction of the change."""

from django.dispatch import Signal

car_stock_moved = Signal()
"""Sent when cars change status through a stock transition (cars_reserve, cars_sell, cars_release).

kwargs: `car_ids` (list of ids, rows locked by the sender), `old_status` and `new_status`
(CarStatus values; every car in one send moved from the same status to the same status).
Sent with `send`, not `send_robust`: its receivers keep derived data (the inventory), and a
failure must roll back the transition rather than leave the figures wrong. Not sent for a
transition that moved no car. This is the only way a stored car's status changes: Car.save()
never writes it, and a queryset update of status is refused.
"""
