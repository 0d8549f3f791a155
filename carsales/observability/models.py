from django.db import models


class SignalChain(models.Model):
    """What one request, task or command set off: the signals sent and the receivers they called,
    in order, as one row (carsales.observability.timeline), written once when the cause ends."""

    chain = models.UUIDField(unique=True)
    cause = models.CharField(max_length=200)  # "POST /checkout/", "task … deliver", "command import_cars", "shell"
    started_at = models.DateTimeField(db_index=True)
    committed = models.BooleanField()  # False: a transaction it ran in rolled back
    errors = models.PositiveIntegerField(default=0)  # receivers that raised
    # For the filters: every signal and receiver name, and every object, one per line between newlines.
    names = models.TextField()
    subjects = models.TextField(blank=True)
    # The steps: [{seq, parent, kind, name, detail, subject, ms, outcome, traceback, committed}, ...]
    steps = models.JSONField()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.cause} at {self.started_at:%Y-%m-%d %H:%M:%S}"
