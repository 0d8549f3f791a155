from django.contrib import admin

from carsales.core.admin_mixins import RecordedOnlyAdmin

from .models import SignalChain


@admin.register(SignalChain)
class SignalChainAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    """The signal timeline, as recorded; /staff/timeline/ draws each chain as a tree. Pruned by age."""

    list_display = ["started_at", "cause", "committed", "errors"]
    list_filter = ["committed"]
    search_fields = ["cause", "names", "subjects"]
