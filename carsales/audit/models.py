from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who did what to which object, written in the same transaction as the action."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        constraints = [
            # One entry per action on an object: a redelivered signal does not log twice.
            models.UniqueConstraint(fields=["action", "object_type", "object_id"], name="audit_once_per_action")
        ]

    def __str__(self) -> str:
        return f"{self.actor or 'system'} {self.action} {self.object_type} #{self.object_id}"
