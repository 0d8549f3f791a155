from django.contrib import admin

from .models import CarInventory, InventoryTotals

STOCK_COLUMNS = ("cars_count", "cars_value", "available_count", "reserved_count", "sold_count")


@admin.register(CarInventory)
class CarInventoryAdmin(admin.ModelAdmin):
    list_display = readonly_fields = (*STOCK_COLUMNS, "created_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: object) -> bool:
        return False  # snapshots are written by the receivers, never by hand

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(InventoryTotals)
class InventoryTotalsAdmin(admin.ModelAdmin):
    list_display = readonly_fields = (*STOCK_COLUMNS, "updated_at")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
