from django.db import models

from carsales.core.state import StateGuardedModel, StateGuardedQuerySet
from carsales.core.tracking import StoredRow
from carsales.orders.models import Order, OrderStatus


class Sale(StateGuardedModel):
    """The sale a paid order became; at most one per order (the one-to-one column)."""

    # PROTECT: a paid order cannot be deleted while its sale stands; void the sale first.
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="sale")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = StateGuardedQuerySet.as_manager()
    # Whether a delete finds the row (core.tracking): a stale copy of a sale voided already deletes nothing.
    stored = StoredRow("order_id")

    CREATED_BY = "sales.services.sale_record"  # when a payment is recorded

    # A sale is fixed once recorded; voiding deletes it.
    STATE_FIELDS = ("order", "amount")

    class Meta:
        ordering = ["-created_at", "-id"]
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"Sale #{self.pk} ({self.order})"

    def check_new(self) -> None:
        if not Order.objects.filter(pk=self.order_id, status=OrderStatus.PAID, is_active=True).exists():
            raise TypeError("A sale is recorded for a paid order only: mark the order paid.")
