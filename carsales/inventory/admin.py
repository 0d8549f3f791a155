from django.contrib import admin

from carsales.core.admin_mixins import RecordedOnlyAdmin

from .models import CarInventory, InventoryTotals

STOCK_COLUMNS = ("cars_count", "cars_value", "available_count", "reserved_count", "withdrawn_count", "sold_count")


@admin.register(CarInventory)
class CarInventoryAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    """Snapshots are written by the receivers; `reconcile_inventory --fix` corrects a drift."""

    list_display = readonly_fields = (*STOCK_COLUMNS, "created_at")
    date_hierarchy = "created_at"


@admin.register(InventoryTotals)
class InventoryTotalsAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    list_display = readonly_fields = (*STOCK_COLUMNS, "updated_at")
