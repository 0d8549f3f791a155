from django.db import models


class SignalRecord(models.Model):
    """One signal sent, or one receiver it called, in the chain of what one request, task or
    command set off (carsales.observability.timeline). Written in bulk when the cause ends."""

    class Kind(models.TextChoices):
        SIGNAL = "signal", "Signal sent"
        RECEIVER = "receiver", "Receiver"

    chain = models.UUIDField(db_index=True)
    seq = models.PositiveIntegerField()  # the order things happened in, within the chain
    parent = models.PositiveIntegerField(null=True)  # seq of the signal or receiver that caused this one
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200, db_index=True)  # the signal's name, or the receiver's module.function
    detail = models.CharField(max_length=200, blank=True)  # the signal's sender, or how the receiver runs
    subject = models.CharField(max_length=120, blank=True, db_index=True)  # "orders.order:12"
    cause = models.CharField(max_length=200)  # "POST /checkout/", "task … deliver", "shell or command"
    ms = models.FloatField()
    outcome = models.CharField(max_length=10, default="ok", db_index=True)  # "ok" or "error"
    traceback = models.TextField(blank=True)
    committed = models.BooleanField()  # False: the transaction it ran in rolled back
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "chain", "seq"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="one_record_per_step_of_a_chain")]

    def __str__(self) -> str:
        return f"{self.name} ({self.cause})"
