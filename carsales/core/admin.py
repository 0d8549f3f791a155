from django.contrib import admin

from .models import ReceiverFailure


@admin.register(ReceiverFailure)
class ReceiverFailureAdmin(admin.ModelAdmin):
    list_display = ["created_at", "signal", "receiver", "error"]
    list_filter = ["signal", "receiver"]
    search_fields = ["receiver", "error"]
    readonly_fields = ["signal", "receiver", "error", "traceback", "context", "created_at"]

    def has_add_permission(self, request: object) -> bool:
        return False
