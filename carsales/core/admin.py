from django.contrib import admin

from .admin_mixins import RecordedOnlyAdmin
from .models import AttemptCount, ReceiverFailure

# Staff's own words for the admin, not Django's ("Django administration").
admin.site.site_header = admin.site.site_title = "carsales administration"
admin.site.index_title = "Records"


@admin.register(ReceiverFailure)
class ReceiverFailureAdmin(admin.ModelAdmin):
    list_display = ["created_at", "signal", "receiver", "error"]
    list_filter = ["signal", "receiver"]
    search_fields = ["receiver", "error"]
    readonly_fields = ["signal", "receiver", "error", "traceback", "context", "created_at"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(AttemptCount)
class AttemptCountAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    """Counts behind the sign-up and password-reset limits; they expire with their window."""

    list_display = ["key", "count", "expires_at"]
    search_fields = ["key"]
