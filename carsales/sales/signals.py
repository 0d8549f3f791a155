"""Events of a sale's life, sent by `sales.services` inside the transaction of the change."""

from carsales.core.dispatch import DomainSignal

sale_recorded = DomainSignal(
    "sale_recorded",
    doc="""Sent once when a paid order's sale is created. kwargs: `sale` (Sale), `order` (Order).
Not sent when the sale already existed (a redelivered order_paid).""",
)

sale_voided = DomainSignal(
    "sale_voided",
    doc="""Sent when staff void (delete) a sale, after its order was deactivated and its cars returned.
kwargs: `sale` (the deleted Sale, pk kept), `order` (Order), `actor` (User).""",
)
