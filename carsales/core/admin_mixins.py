"""Admin behaviour shared by the apps."""

from typing import Any

from django.http import HttpRequest


class RecordedOnlyAdmin:
    """For rows that record what happened or are derived from other rows (snapshots, totals,
    daily figures, events, the audit log): shown, never added, changed nor deleted by hand.
    Derived figures are corrected by their recount command (reconcile_inventory,
    recount_analytics), which records the correction."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
