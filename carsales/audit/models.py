from collections.abc import Iterable
from typing import Any, cast

from django.conf import settings
from django.db import models
from django.db.models.deletion import Collector


class AppendOnlyQuerySet(models.QuerySet["AuditEntry"]):
    # Set on the entries of an account being deleted, as its deletion collects them (actor_deleted).
    _of_deleted_account = False

    def update(self, **kwargs: Any) -> int:
        # The one change allowed: the entries of an account being deleted lose the link to it, and
        # keep its name. Any other update(actor=None) would unlink entries of accounts that live on.
        if self._of_deleted_account and kwargs.keys() == {"actor"} and kwargs["actor"] is None:
            return super().update(**kwargs)
        raise TypeError("The audit log is append-only: entries are never changed.")

    def _of_an_account_being_deleted(self) -> "AppendOnlyQuerySet":
        """For actor_deleted only: no caller of the log's public API unlinks entries."""
        entries = self.all()
        entries._of_deleted_account = True
        return entries

    def _clone(self) -> "AppendOnlyQuerySet":
        # The deletion collector joins the entries it collects per batch (qs | qs): both clones.
        entries = cast(AppendOnlyQuerySet, super()._clone())  # type: ignore[misc]
        entries._of_deleted_account = self._of_deleted_account
        return entries

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only: entries are never deleted.")

    def bulk_create(  # type: ignore[override]
        self,
        objs: Iterable["AuditEntry"],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Any = None,
        unique_fields: Any = None,
    ) -> list["AuditEntry"]:
        # An upsert would rewrite the entries whose ids it names.
        if update_conflicts:
            raise TypeError("The audit log is append-only: bulk_create cannot update the entries it meets.")
        return super().bulk_create(objs, batch_size=batch_size, ignore_conflicts=ignore_conflicts)


def actor_deleted(collector: Collector, field: models.Field[Any, Any], entries: Any, using: str) -> None:
    """on_delete of an entry's actor: SET_NULL, for those entries only (their name stays)."""
    models.SET_NULL(collector, field, entries._of_an_account_being_deleted(), using)


# As SET_NULL: the collector updates the entries without reading them first (a long-serving
# account's tens of thousands of rows).
actor_deleted.lazy_sub_objs = True  # type: ignore[attr-defined]


class AuditEntry(models.Model):
    """Who did what to which object, written in the same transaction as the action.

    Append-only on every path: the admin shows entries only, and a saved entry cannot be
    changed or deleted (instance or queryset). The actor's username is kept beside the link to
    their account, so an entry still says who acted after that account is deleted.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=actor_deleted, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="The actor's username when they acted.")
    action = models.CharField(max_length=60)  # indexed in Meta: filtered by, never searched by prefix
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)
    # False for what happens to an object once (placed, paid, voided): the constraint then keeps
    # a redelivered signal from logging it twice. Edits and price changes repeat.
    repeatable = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        base_manager_name = "objects"
        # Not db_index=True, which on PostgreSQL adds a second, LIKE-prefix index to every insert.
        indexes = [models.Index(fields=["action"], name="audit_action")]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "object_type", "object_id"],
                condition=models.Q(repeatable=False),
                name="audit_once_per_action",
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.object_type} #{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise TypeError("The audit log is append-only: entries are never changed.")
        # An INSERT always: a new instance given a stored entry's id fails rather than rewrites it.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only: entries are never deleted.")
