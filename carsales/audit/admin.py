from django.contrib import admin

from carsales.core.admin_mixins import RecordedOnlyAdmin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_name", "action"]
    readonly_fields = ["actor", "actor_name", "action", "object_type", "object_id", "detail", "created_at"]
