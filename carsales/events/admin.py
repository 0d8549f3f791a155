from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import Delivery, EffectRecord
from .services import deliveries_requeue


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "receiver",
        "status",
        "attempts",
        "max_attempts",
        "error_summary",
        "queue",
        "created_at",
        "run_after",
    ]
    list_filter = ["status", "queue", "receiver"]
    search_fields = ["receiver", "lane", "key"]
    actions = ["requeue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # states change only through the worker and the requeue action

    # A delivery still owed is an effect the sender committed to: deleting it by hand would lose
    # it silently. Finished ones (done, dead) may go; pruning removes them anyway.
    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        owed = obj is not None and obj.status in Delivery.ACTIVE
        return not owed and super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        owed = queryset.filter(status__in=Delivery.ACTIVE).count()
        if owed:
            self.message_user(request, f"{owed} deliveries still owed were kept.", messages.WARNING)
        queryset.exclude(status__in=Delivery.ACTIVE).delete()

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        """What the overview's requeue asks: not the change form's, which nobody has."""
        return request.user.has_perm("events.change_delivery")

    @admin.action(description="Requeue the selected dead deliveries", permissions=["requeue"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_requeue(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} dead deliveries requeued.", messages.SUCCESS)


@admin.register(EffectRecord)
class EffectRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "attempts", "created_at", "done_at"]
    search_fields = ["key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    # Deleting a record lets its effect happen again (an email sent anew when its delivery is
    # requeued); never while a run holds its claim, which would let a second run start it meanwhile
    # (the admin's bulk delete asks this of each record it would delete).
    def has_delete_permission(self, request: HttpRequest, obj: EffectRecord | None = None) -> bool:
        claimed = obj is not None and obj.claimed_until is not None and obj.claimed_until > timezone.now()
        return super().has_delete_permission(request, obj) and not claimed

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EffectRecord]) -> None:
        # Asked again in the DELETE: a run may have taken a claim since the page was shown.
        claimed = Q(claimed_until__gt=timezone.now())
        if kept := queryset.filter(claimed).count():
            self.message_user(request, f"{kept} record(s) a run claimed meanwhile were kept.", messages.WARNING)
        queryset.exclude(claimed).delete()
