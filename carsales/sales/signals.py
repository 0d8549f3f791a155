"""Events of a sale's life, sent by `sales.services` inside the transaction of the change.

A voided sale has no custom signal on purpose: a sale can be removed by paths no service
sees (the admin, a shell's `sale.delete()`, a queryset delete), so its observers listen to
the Sale model's own pre_delete / post_delete, which every path sends.
"""

from carsales.core.dispatch import DomainSignal

sale_recorded = DomainSignal(
    "sale_recorded",
    doc="""Sent once when a paid order's sale is created. kwargs: `sale` (Sale), `order` (Order).
Not sent when the sale already existed (a redelivered order_payment_recorded).""",
)
