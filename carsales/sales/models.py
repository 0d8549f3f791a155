from django.db import models

from carsales.orders.models import Order


class Sale(models.Model):
    """The sale a paid order became; at most one per order (the one-to-one column)."""

    # PROTECT: a paid order cannot be deleted while its sale stands; void the sale first.
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="sale")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Sale #{self.pk} ({self.order})"
