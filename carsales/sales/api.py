from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request

from carsales.core.permissions import staff_with

from .models import Sale
from .selectors import sale_list
from .services import sale_void


class SaleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sale
        fields = ["id", "order", "amount", "created_at"]
        read_only_fields = fields


class SaleViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sales, for staff. DELETE voids a sale: its order is deactivated and its cars go back on sale."""

    serializer_class = SaleSerializer
    lookup_value_converter = "id"
    permission_classes = [staff_with("sales.view_sale")]

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "destroy":  # seeing sales is not voiding them
            return [staff_with("sales.view_sale", "sales.delete_sale")()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[Sale]:
        return sale_list()

    def perform_destroy(self, instance: Sale) -> None:
        request: Request = self.request
        sale_void(sale=instance, actor=request.user)
