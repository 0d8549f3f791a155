from django.contrib import admin

from carsales.core.admin_mixins import RecordedOnlyAdmin

from .models import SignalRecord


@admin.register(SignalRecord)
class SignalRecordAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    """The signal timeline, as recorded; /staff/timeline/ reads it as chains. Pruned by age."""

    list_display = ["created_at", "kind", "name", "subject", "outcome", "committed", "cause"]
    list_filter = ["kind", "outcome", "committed"]
    search_fields = ["name", "subject", "cause"]
