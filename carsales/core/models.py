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


class AttemptCount(models.Model):
    """Attempts of one kind by one key (an address, a target email) in one time window.

    Kept in the database, not a process's memory or a cache each process may see apart: a
    limit then holds across web processes and machines, with no other service to run.
    """

    key = models.CharField(max_length=400)  # scope:key:window
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        # Not unique=True, which on PostgreSQL adds a LIKE-prefix index no query uses.
        constraints = [models.UniqueConstraint(fields=["key"], name="attempt_count_key_unique")]

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
