from django.db import models


class EmailNotification(models.Model):
    """One email we owe someone about an object; the unique key makes sending it idempotent."""

    class Kind(models.TextChoices):
        ORDER_CONFIRMATION = "order_confirmation", "Order confirmation"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    recipient = models.EmailField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="one_email_per_kind_and_object")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.object_id} to {self.recipient}"
