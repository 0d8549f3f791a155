from rest_framework import viewsets

from carsales.core.permissions import staff_with
from carsales.core.serializers import ModelSerializer

from .models import CarInventory


class CarInventorySerializer(ModelSerializer):
    class Meta:
        model = CarInventory
        fields = [
            "id",
            "cars_count",
            "cars_value",
            "available_count",
            "reserved_count",
            "withdrawn_count",
            "sold_count",
            "created_at",
        ]


class CarInventoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Inventory snapshots, newest first (the first is the current stock), for staff."""

    serializer_class = CarInventorySerializer
    lookup_value_converter = "id"
    permission_classes = [staff_with("inventory.view_carinventory")]
    queryset = CarInventory.objects.all()
