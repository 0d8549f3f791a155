"""REST endpoints of the order flow: the caller's cart, checkout, orders."""

import functools
from decimal import Decimal
from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carsales.accounts.services import buyer_ensure
from carsales.catalog.models import Car
from carsales.catalog.selectors import cars_visible_to
from carsales.core.api_fields import IdField, IdRelatedField
from carsales.core.gone import stored_or_gone
from carsales.core.permissions import staff_with
from carsales.core.serializers import ModelSerializer

from .models import (
    ORDER_STATE_NAMES,
    PAYMENT_REFERENCE_LENGTH,
    CancellationReason,
    Cart,
    CartItem,
    Order,
    OrderItem,
    PaymentMethod,
    VoidReason,
    payment_reference_as_stored,
    validate_payment_reference,
)
from .selectors import (
    buyer_cart_id,
    buyer_cart_items,
    order_cancellable_by,
    order_list_for,
    order_shows_car_identity,
)
from .services import (
    AlreadyOrdered,
    CartError,
    CheckoutError,
    OrderStateError,
    cart_for_buyer,
    cart_item_add,
    cart_item_remove,
    order_cancel,
    order_mark_paid,
    order_place,
    order_record_refund,
)


class CartItemSerializer(ModelSerializer):
    car = IdRelatedField(queryset=Car.objects.all())
    car_name = serializers.CharField(source="car.__str__", read_only=True)
    price = serializers.DecimalField(source="car.value", max_digits=12, decimal_places=2, read_only=True)
    available = serializers.BooleanField(
        source="car.is_for_sale", read_only=True, help_text="False once the car is reserved or sold: remove it."
    )

    price_changed_from = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="The price when the car went in the cart, while the car is for sale at another price now; else null.",
    )

    class Meta:
        model = CartItem
        fields = ["car", "car_name", "price", "available", "price_changed_from", "added_at"]
        read_only_fields = ["added_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:  # a car this reader may not open is no car: its refusal would name it
            self.fields["car"].queryset = cars_visible_to(request.user)  # type: ignore[attr-defined]


class CartSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null until the first car is added")
    items = CartItemSerializer(many=True)


IDENTITY_HELP = (
    "The car's plate or VIN whole (blank if unknown): for staff who may see cars, and for the buyer once the "
    "order is paid and its sale stands, as the order's page shows them; null for anyone else."
)


class OrderItemSerializer(ModelSerializer):
    car_name = serializers.CharField(source="car.__str__", read_only=True)
    plate = serializers.SerializerMethodField(help_text=IDENTITY_HELP)
    vin = serializers.SerializerMethodField(help_text=IDENTITY_HELP)

    class Meta:
        model = OrderItem
        fields = ["car", "car_name", "price", "plate", "vin"]

    def _identified(self, item: OrderItem) -> bool:
        return order_shows_car_identity(order=item.order, user=self.context["request"].user)

    def get_plate(self, item: OrderItem) -> str | None:
        return item.car.plate if self._identified(item) else None

    def get_vin(self, item: OrderItem) -> str | None:
        return item.car.vin if self._identified(item) else None


class OrderSerializer(ModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)
    void_reason = serializers.ChoiceField(
        choices=VoidReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="Why the order's sale was voided; blank while it stands, or when no reason was given.",
    )
    payment_method = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        allow_blank=True,
        read_only=True,
        help_text="How the buyer paid; blank until it is paid, or when no method was given.",
    )
    buyer = serializers.CharField(source="buyer.user.get_username", read_only=True)
    state = serializers.ChoiceField(
        choices=list(ORDER_STATE_NAMES.items()),
        read_only=True,
        help_text="Where the order stands: `status` while its sale stands; once its sale is voided (`status` "
        "stays `paid`), whether its refund is owed, recorded (`refunded`) or to check (a sale recorded in "
        "error may have had no payment), or `voided` when none is owed (the payment failed or was reversed).",
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "buyer",
            "status",
            "state",
            "is_active",
            "total",
            "total_price",
            "items",
            "placed_at",
            "paid_at",
            "payment_method",
            "payment_reference",
            "cancelled_at",
            "voided_at",
            "void_reason",  # the buyer is told it; staff's note is not theirs to read
            "refunded_at",
            "refund_reference",
        ]
        read_only_fields = fields


class CheckoutSerializer(serializers.Serializer):
    cart_id = IdField(required=False, help_text="Defaults to your cart.")
    cars = serializers.ListField(
        child=IdField(),
        required=False,
        help_text="The car ids you reviewed; if given and the cart no longer holds exactly these, nothing is ordered.",
    )
    prices = serializers.DictField(
        child=serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0")),
        required=False,
        help_text="The prices you reviewed, by car id; if a car's price changed since, nothing is ordered.",
    )

    def validate_prices(self, prices: dict[str, Decimal]) -> dict[int, Decimal]:
        try:
            return {int(car_id): price for car_id, price in prices.items()}
        except ValueError:
            raise ValidationError("Give each price under its car's id.")


def _own_cart(request: Request) -> Cart:
    return cart_for_buyer(buyer=buyer_ensure(user=request.user))


class CartView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=CartSerializer)
    def get(self, request: Request) -> Response:
        user_id = cast(int, request.user.pk)  # IsAuthenticated
        cart_id = buyer_cart_id(user_id=user_id)  # a GET makes no cart
        items = buyer_cart_items(user_id=user_id) if cart_id is not None else []
        return Response(CartSerializer({"id": cart_id, "items": items}).data)


class CartItemViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The cars in your cart: POST {"car": id} to add one, DELETE /{car id}/ to take it out."""

    serializer_class = CartItemSerializer
    lookup_value_converter = "id"
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "car_id"

    def get_queryset(self) -> QuerySet[CartItem]:
        return buyer_cart_items(user_id=cast(int, self.request.user.pk))  # IsAuthenticated

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        try:
            serializer.instance = cart_item_add(cart=_own_cart(self.request), car=serializer.validated_data["car"])
        except CartError as refusal:
            raise ValidationError({"car": [str(refusal)]})

    def destroy(self, request: Request, car_id: int) -> Response:
        if not cart_item_remove(cart=_own_cart(request), car_id=car_id):
            raise Http404("This car is not in your cart.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class CheckoutView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=CheckoutSerializer,
        responses={
            201: OrderSerializer,
            404: OpenApiResponse(description="The cart_id given is not your cart."),
            409: OpenApiResponse(
                description="The cart's cars are your order already (the checkout sent twice): `order` is its id."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = CheckoutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        buyer = buyer_ensure(user=request.user)
        cart = cart_for_buyer(buyer=buyer)
        if body.validated_data.get("cart_id") not in (None, cart.pk):
            raise Http404("No such cart.")  # another buyer's cart is not revealed
        try:
            order = order_place(
                cart=cart,
                buyer=buyer,
                actor=request.user,
                confirmed_car_ids=body.validated_data.get("cars"),
                confirmed_prices=body.validated_data.get("prices"),
            )
        except AlreadyOrdered as placed:  # the same checkout sent twice: which order it placed
            return Response({"detail": str(placed), "order": placed.order_id}, status=status.HTTP_409_CONFLICT)
        except CheckoutError as refusal:
            raise ValidationError({"detail": str(refusal)})
        order = order_list_for(user=request.user).get(pk=order.pk)
        return Response(OrderSerializer(order, context={"request": request}).data, status=status.HTTP_201_CREATED)


class _ReferenceGiven(serializers.Serializer):
    """A body giving a payment's or a refund's `reference`: kept as the order keeps it."""

    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=PAYMENT_REFERENCE_LENGTH)

    def validate_reference(self, reference: str) -> str:
        reference = payment_reference_as_stored(reference)
        validate_payment_reference(reference)
        return reference


class PaymentSerializer(_ReferenceGiven):
    """How the buyer paid: the buyer's receipt and the audit log say it."""

    method = serializers.ChoiceField(choices=PaymentMethod.choices)


class RefundSerializer(_ReferenceGiven):
    """The refund of a voided sale's payment: the buyer's email and the audit log say it."""


ORDER_STATE_REFUSED = OpenApiResponse(description="The order is not in a state that allows this (already paid...).")


class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Your orders (staff: all). Staff mark a placed order paid and record a voided sale's refund;
    staff or its buyer cancel a placed order."""

    serializer_class = OrderSerializer
    lookup_value_converter = "id"
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[Order]:
        return order_list_for(user=self.request.user)

    def _transition(self, request: Request, service: Any) -> Response:
        try:
            order = service(order=self.get_object(), actor=request.user)
        except OrderStateError as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(stored_or_gone(self.get_queryset(), pk=order.pk)).data)

    @extend_schema(request=PaymentSerializer, responses={200: OrderSerializer, 409: ORDER_STATE_REFUSED})
    @action(detail=True, methods=["post"], permission_classes=[staff_with("orders.change_order")])
    def pay(self, request: Request, pk: str | None = None) -> Response:
        """Mark a placed order paid, saying how the buyer paid (`method`) and the payment's `reference`."""
        order = self.get_object()  # an order gone, or not yours to see, is a 404 whatever the body
        if not order.awaits_payment or order.reservation_ran_out:  # a 409 (paid, too late), whatever the body
            return self._transition(request, order_mark_paid)
        given = PaymentSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        return self._transition(request, functools.partial(order_mark_paid, **given.validated_data))

    @extend_schema(request=RefundSerializer, responses={200: OrderSerializer, 409: ORDER_STATE_REFUSED})
    @action(detail=True, methods=["post"], permission_classes=[staff_with("orders.change_order", "sales.delete_sale")])
    def refund(self, request: Request, pk: str | None = None) -> Response:
        """Record that a voided sale's payment went back to its buyer, with the refund's `reference`
        (staff who void sales)."""
        order = self.get_object()
        given = RefundSerializer(data=request.data)
        if given.is_valid():  # the locked transition decides whether it may be recorded
            return self._transition(request, functools.partial(order_record_refund, **given.validated_data))
        if not order.refund_recordable:  # a 409 (its sale stands, nothing owed, recorded already), whatever the body
            return self._transition(request, order_record_refund)
        raise ValidationError(given.errors)

    @extend_schema(request=None, responses={200: OrderSerializer, 409: ORDER_STATE_REFUSED})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Staff who change orders cancel any placed order; a buyer cancels their own."""
        if not order_cancellable_by(order=self.get_object(), user=request.user):
            raise PermissionDenied("Seeing orders is not cancelling them.")
        reason = CancellationReason.STAFF if request.user.has_perm("orders.change_order") else CancellationReason.BUYER
        return self._transition(request, functools.partial(order_cancel, reason=reason))
