from django.db import models


class ReceiverFailure(models.Model):
    """A receiver that raised while a domain signal was being sent.

    The business action went on (the signal is sent robustly); this row is how staff see
    that one of its observers did not do its part.
    """

    signal = models.CharField(max_length=120)
    receiver = models.CharField(max_length=255)
    error = models.TextField()
    traceback = models.TextField()
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.receiver} on {self.signal}: {self.error[:60]}"
