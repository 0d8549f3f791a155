from rest_framework import permissions, serializers, viewsets

from .models import CarInventory


class CarInventorySerializer(serializers.ModelSerializer):
    class Meta:
        model = CarInventory
        fields = ["id", "cars_count", "cars_value", "available_count", "reserved_count", "sold_count", "created_at"]


class CarInventoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Inventory snapshots, newest first (the first is the current stock), for staff."""

    serializer_class = CarInventorySerializer
    lookup_value_converter = "id"
    permission_classes = [permissions.IsAdminUser]
    queryset = CarInventory.objects.all()
