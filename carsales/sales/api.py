from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from carsales.core.permissions import staff_with
from carsales.core.serializers import ModelSerializer
from carsales.orders.models import VoidReason

from .models import Sale
from .selectors import sale_list
from .services import VOID_NOTE_LENGTH, sale_void


class SaleSerializer(ModelSerializer):
    class Meta:
        model = Sale
        fields = ["id", "order", "amount", "created_at"]
        read_only_fields = fields


class SaleVoidSerializer(serializers.Serializer):
    """Why a sale is voided: the buyer's email says the reason; the note stays with staff."""

    reason = serializers.ChoiceField(choices=VoidReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=VOID_NOTE_LENGTH)


class SaleViewSet(viewsets.ReadOnlyModelViewSet):
    """Sales, for staff. POST .../void/ voids a sale, saying why: its order is deactivated and
    its cars go back on sale. No DELETE: voiding asks for a reason on every path that can."""

    serializer_class = SaleSerializer
    lookup_value_converter = "id"
    permission_classes = [staff_with("sales.view_sale")]

    def get_queryset(self) -> QuerySet[Sale]:
        return sale_list()

    @extend_schema(
        request=SaleVoidSerializer,
        responses={204: None, 404: OpenApiResponse(description="No such sale, or voided since (by anyone).")},
    )
    @action(detail=True, methods=["post"], permission_classes=[staff_with("sales.view_sale", "sales.delete_sale")])
    def void(self, request: Request, pk: str | None = None) -> Response:
        sale = self.get_object()  # a sale gone is a 404, whatever the body
        given = SaleVoidSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        sale_void(sale=sale, actor=request.user, **given.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
