from decimal import Decimal

from django.db import models

from carsales.core.own_writes import OwnWrites, OwnWritesModel, OwnWritesQuerySet

_KEPT_BY_ANALYTICS = (
    "The sales figures are kept by the analytics app from the order events it records (its receivers, "
    "recount_analytics, order_events_prune): a row written, changed or deleted by hand would make a day's "
    "figures disagree with its sales, and the recount confirm them. Run recount_analytics to correct a drift."
)


class OrderEvent(OwnWritesModel):
    """Something that happened to an order, recorded once (the unique key) per order and kind.
    Written only by the analytics app's services (OwnWrites: on every ORM path)."""

    own_writes = OwnWrites("analytics_order_events_written", refusal=_KEPT_BY_ANALYTICS)

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

    objects = OwnWritesQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        base_manager_name = "objects"
        constraints = [models.UniqueConstraint(fields=["order_id", "kind"], name="one_event_per_order_and_kind")]

    def __str__(self) -> str:
        return f"Order #{self.order_id} {self.kind}"


class DailySales(OwnWritesModel):
    """Per-day figures, moved with F() by each event; `recount_analytics` recounts them from the
    order events and corrects a drift. Once a day's events are pruned (order_events_prune), its
    figures are the record: they stand as they are, and the recount leaves the day alone.
    Written only by the analytics app's services, with its events' gate."""

    own_writes = OrderEvent.own_writes

    day = models.DateField(unique=True)
    orders_placed = models.IntegerField(default=0)
    sales_count = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0"))
    sales_voided = models.IntegerField(default=0, help_text="Sales of this day voided since (already taken off).")
    events_pruned = models.BooleanField(
        default=False, help_text="Its order events were pruned after the retention: its figures are the record."
    )

    objects = OwnWritesQuerySet.as_manager()

    class Meta:
        ordering = ["-day"]
        base_manager_name = "objects"
        verbose_name_plural = "daily sales"

    def __str__(self) -> str:
        return f"{self.day}: {self.sales_count} sales, {self.revenue}"
