from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request

from carsales.core.permissions import staff_with
from carsales.orders.models import VoidReason

from .models import Sale
from .selectors import sale_list
from .services import VOID_NOTE_LENGTH, sale_void


class SaleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sale
        fields = ["id", "order", "amount", "created_at"]
        read_only_fields = fields


class SaleVoidSerializer(serializers.Serializer):
    """Why a sale is voided (a DELETE's body): the buyer's email says the reason; the note stays
    with staff. Both optional, as on every path that voids without asking."""

    reason = serializers.ChoiceField(choices=VoidReason.choices, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=VOID_NOTE_LENGTH)


class SaleViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sales, for staff. DELETE voids a sale, for the reason its body gives (SaleVoidSerializer): its
    order is deactivated and its cars go back on sale."""

    serializer_class = SaleSerializer
    lookup_value_converter = "id"
    permission_classes = [staff_with("sales.view_sale")]

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "destroy":  # seeing sales is not voiding them
            return [staff_with("sales.view_sale", "sales.delete_sale")()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[Sale]:
        return sale_list()

    @extend_schema(request=SaleVoidSerializer, responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Sale) -> None:
        request: Request = self.request
        given = SaleVoidSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        sale_void(sale=instance, actor=request.user, **given.validated_data)
