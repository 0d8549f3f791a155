from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Buyer


class GuardedAccessAttemptAdmin(AccessAttemptAdmin):
    """django-axes' own list, whose clean-up action deletes rows: offered to those who may delete
    them, not to every viewer (axes declares no permission for it)."""

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)  # registered by axes, an app listed before this one
admin.site.register(AccessAttempt, GuardedAccessAttemptAdmin)


@admin.register(Buyer)
class BuyerAdmin(admin.ModelAdmin):
    list_display = ["user", "user__email", "phone", "created_at"]
    search_fields = ["user__username", "user__email", "phone"]
    list_select_related = ["user"]
    # A buyer's account is theirs for good: moved, it would take their orders and sales along.
    readonly_fields = ["user", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every account gets its buyer as it is made (accounts.receivers)
