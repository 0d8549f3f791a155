from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Delivery, EffectRecord
from .services import deliveries_requeue


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "receiver", "status", "attempts", "max_attempts", "lane", "queue", "created_at", "run_after"]
    list_filter = ["status", "queue", "receiver"]
    search_fields = ["receiver", "lane", "key"]
    actions = ["requeue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # states change only through the worker and the requeue action

    @admin.action(description="Requeue the selected dead deliveries")
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
