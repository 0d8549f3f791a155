"""Durable receivers for ordinary Django signals: the send writes a delivery in the sender's
transaction, a worker runs the receiver after commit, at least once, from the data the signal carried.

Public API: `carsales.events.durable` (declare), `carsales.events.effects` (record an outside
effect under the idempotency key). Imports no other app of the project it serves.
"""
