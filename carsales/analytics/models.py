from decimal import Decimal

from django.db import models


class OrderEvent(models.Model):
    """Something that happened to an order, recorded once (the unique key) per order and kind."""

    class Kind(models.TextChoices):
        PLACED = "placed", "Placed"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        SALE_VOIDED = "sale_voided", "Sale voided"
        REFUNDED = "refunded", "Refunded"  # a voided sale's payment given back: moves no figure

    order_id = models.PositiveBigIntegerField()  # one_event_per_order_and_kind leads with it
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    cars = models.PositiveIntegerField()
    # The day whose figures the event moves: its own day, except a voided sale's, which is taken
    # off the day the sale was made (that day's figures become true; later days are untouched).
    day = models.DateField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["order_id", "kind"], name="one_event_per_order_and_kind")]

    def __str__(self) -> str:
        return f"Order #{self.order_id} {self.kind}"


class DailySales(models.Model):
    """Per-day figures, moved with F() by each event; `recount_analytics` recounts them from the
    order events and corrects a drift. Once a day's events are pruned (order_events_prune), its
    figures are the record: they stand as they are, and the recount leaves the day alone."""

    day = models.DateField(unique=True)
    orders_placed = models.IntegerField(default=0)
    sales_count = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    sales_voided = models.IntegerField(default=0, help_text="Sales of this day voided since (already taken off).")
    events_pruned = models.BooleanField(
        default=False, help_text="Its order events were pruned after the retention: its figures are the record."
    )

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily sales"

    def __str__(self) -> str:
        return f"{self.day}: {self.sales_count} sales, {self.revenue}"
