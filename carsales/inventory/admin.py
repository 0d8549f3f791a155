from django.contrib import admin

from .models import CarInventory, InventoryTotals


@admin.register(CarInventory)
class CarInventoryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "cars_count", "cars_value"]
    date_hierarchy = "created_at"
    readonly_fields = ["cars_count", "cars_value", "created_at"]

    def has_add_permission(self, request: object) -> bool:
        return False  # snapshots are written by the receivers, never by hand

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(InventoryTotals)
class InventoryTotalsAdmin(admin.ModelAdmin):
    list_display = ["cars_count", "cars_value", "updated_at"]
    readonly_fields = ["cars_count", "cars_value", "updated_at"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
