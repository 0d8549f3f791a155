from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect

from carsales.core.admin_mixins import CheckedAgainOnRefusal

from .models import Buyer


class GuardedAccessAttemptAdmin(AccessAttemptAdmin):
    """django-axes' own list, whose clean-up action deletes rows: offered to those who may delete
    them, not to every viewer (axes declares no permission for it)."""

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)  # registered by axes, an app listed before this one
admin.site.register(AccessAttempt, GuardedAccessAttemptAdmin)


class KeptAccountsNotOffered(UserAdmin):
    """Django's user admin; an account whose records another app keeps (orders, sales) is not
    offered a deletion nobody may finish: the page says what keeps it, and to deactivate it."""

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        account = self.get_object(request, unquote(object_id))
        if account is not None and self.has_delete_permission(request, account):
            # Kinds of rows whose admin refuses their deletion (orders kept), or rows a PROTECT keeps.
            _deleted, _counts, forbidden, protected = self.get_deleted_objects([account], request)
            kept = (
                f"their {' and '.join(sorted(forbidden))} records"
                if forbidden
                else "other records"
                if protected
                else ""
            )
            if kept:
                messages.error(
                    request,
                    f"The account {account.get_username()} cannot be deleted: {kept} must be kept. Deactivate it "
                    "instead (untick Active below): it no longer logs in, and its history stays.",
                )
                return redirect("admin:auth_user_change", account.pk)
        return super().delete_view(request, object_id, extra_context)


class AccountAdmin(CheckedAgainOnRefusal, KeptAccountsNotOffered):
    """An account whose order was placed after its delete page looked is refused as it is deleted
    (orders.buyer_leaving), and the page asked again says what keeps it."""


admin.site.unregister(get_user_model())  # registered by django.contrib.auth with UserAdmin
admin.site.register(get_user_model(), AccountAdmin)


@admin.register(Buyer)
class BuyerAdmin(CheckedAgainOnRefusal, admin.ModelAdmin):
    list_display = ["user", "user__email", "phone", "created_at"]
    search_fields = ["user__username", "user__email", "phone"]
    list_select_related = ["user"]
    # A buyer's account is theirs for good: moved, it would take their orders and sales along.
    readonly_fields = ["user", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every account gets its buyer as it is made (accounts.receivers)
