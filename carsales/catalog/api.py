"""REST endpoints of the catalogue: read for everyone, write for staff."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from carsales.core.api_fields import SlugRelatedField
from carsales.core.permissions import ModelPermissionsOrReadOnly, staff_with
from carsales.core.serializers import ModelSerializer

from .api_rows import CarRows, row_writer
from .facts import reader_kind, sees_car_identity, sees_stock_details
from .filters import CarFilterSet
from .models import (
    FIRST_CAR_YEAR,
    LOWEST_PRICE,
    PRICE_ABOVE_ZERO,
    VEHICLE_FACTS,
    Brand,
    Car,
    CarPhoto,
    CarStatus,
    PriceChange,
    VINField,
    current_year,
    next_year,
)
from .pages import cacheable_query, catalogue_cached, catalogue_version, shared_with_anyone
from .selectors import brand_list, brand_slug_renamed, car_catalogue, car_price_history, with_price_drop
from .services import (
    BrandInUse,
    CarInUse,
    StockError,
    brand_create,
    brand_delete,
    brand_rename,
    car_create,
    car_delete,
    car_photo_delete,
    car_photo_make_cover,
    car_photos_add,
    car_photos_reorder,
    car_update,
    cars_relist,
    cars_withdraw,
)
from .vin import plate_masked, validate_vin, vin_masked, vin_normalise


class PriceChangeSerializer(ModelSerializer):
    class Meta:
        model = PriceChange
        fields = ["old_value", "new_value", "changed_at", "changed_by_name"]

    def to_representation(self, change: PriceChange) -> dict[str, Any]:
        data = super().to_representation(change)
        if not sees_stock_details(getattr(self.context.get("request"), "user", None)):
            del data["changed_by_name"]  # who set a price is the dealership's business
        return data


class CarPhotoSerializer(ModelSerializer):
    large = serializers.ImageField(read_only=True, help_text="WebP, once made after the upload; null until then.")
    small = serializers.ImageField(read_only=True, help_text="WebP for a strip of photos; null until made.")

    class Meta:
        model = CarPhoto
        fields = ["id", "position", "image", "large", "small", "uploaded_at"]
        read_only_fields = fields


class PhotoUploadSerializer(serializers.Serializer):
    photos = serializers.ListField(
        child=serializers.FileField(), allow_empty=False, help_text="One or more JPEG, PNG or WebP files."
    )


class PhotoOrderSerializer(serializers.Serializer):
    photo_ids = serializers.ListField(child=serializers.IntegerField(), help_text="Every photo of the gallery, once.")


class ReadsOrStockStaff(permissions.BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or sees_stock_details(request.user)


class BrandSerializer(ModelSerializer):
    # A plain string in the schema: a SlugField's pattern (\w) means ASCII to JSON Schema
    # validators, while brand slugs may be unicode ("日産").
    slug = serializers.CharField(read_only=True, help_text="Letters, digits and hyphens, any script; used in links.")

    class Meta:
        model = Brand
        fields = ["id", "name", "slug"]


class VINSerializerField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        return vin_normalise(super().to_internal_value(data))


class CarSerializer(ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, VINField: VINSerializerField}
    brand = SlugRelatedField(slug_field="slug", queryset=Brand.objects.all())
    brand_name = serializers.CharField(source="brand.name", read_only=True)
    price_dropped_from = serializers.SerializerMethodField(
        help_text="The price before the last change, while that change is a recent drop of an available car; else null."
    )

    class Meta:
        model = Car
        fields = [
            "id",
            "stock_code",
            "brand",
            "brand_name",
            "model",
            "factory_year",
            "model_year",
            "plate",
            "value",
            *VEHICLE_FACTS,
            "price_dropped_from",
            "status",
            "photo",
            "thumbnail",
            "thumbnail_webp",
            "bio",
            "created_at",
            "updated_at",
        ]
        # status is moved by the order flow only (checkout, payment, cancellation, void).
        read_only_fields = ["stock_code", "status", "thumbnail", "thumbnail_webp", "created_at", "updated_at"]
        extra_kwargs = {
            # A taken plate, however spaced, is said by the service's check in the dealership's words
            # (Car.validate_constraints); DRF's own uniqueness check would say "car with this plate…".
            "plate": {"validators": []},
            "vin": {
                "validators": [
                    validate_vin,
                    UniqueValidator(queryset=Car.objects.exclude(vin=""), message="Another car in stock has this VIN."),
                ]
            },
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The real bounds, which move with the calendar (the model's clean() checks the same).
        for name, latest in (("factory_year", current_year()), ("model_year", next_year())):
            self.fields[name] = serializers.IntegerField(
                min_value=FIRST_CAR_YEAR, max_value=latest, help_text=self.fields[name].help_text
            )
        self.fields["value"] = serializers.DecimalField(
            max_digits=12,
            decimal_places=2,
            min_value=LOWEST_PRICE,
            error_messages={"min_value": PRICE_ABOVE_ZERO},
            allow_null=True,
            required=False,
            help_text=self.fields["value"].help_text,
        )

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_price_dropped_from(self, car: Car) -> str | None:
        return self.price_drop_said(getattr(car, "price_dropped_from", None), car.value, car.status)

    @staticmethod
    def price_drop_said(was: Decimal | None, value: Decimal | None, status: str) -> str | None:
        """price_dropped_from, of the annotation (with_price_drop), the price and the status."""
        return None if was is None or value is None or status != CarStatus.AVAILABLE else f"{was:.2f}"

    # How the car list read as rows (catalog.api_rows) writes the method fields: columns, then writer.
    method_fields_from_columns: ClassVar[dict[str, tuple[tuple[str, ...], Callable[..., Any]]]] = {
        "price_dropped_from": (("price_dropped_from", "value", "status"), price_drop_said),
    }

    def to_representation(self, car: Car) -> dict[str, Any]:
        # The car list's rows (catalog.api_rows.CarRowWriter) are written as this writes a car: a
        # change here is one there too (tests/test_api_rows.py compares their bytes).
        data = super().to_representation(car)
        if not self.reads_identity_whole(self.context.get("request")):
            self.identity_masked(data, car.plate, car.vin)
        return data

    @staticmethod
    def reads_identity_whole(request: Any) -> bool:
        """The serial part of a VIN and the plate single out one car: whole for staff (and its buyer)."""
        return sees_car_identity(getattr(request, "user", None))

    @staticmethod
    def identity_masked(data: dict[str, Any], plate: str, vin: str) -> None:
        data["plate"], data["vin"] = plate_masked(plate), vin_masked(vin)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        factory = attrs.get("factory_year", getattr(self.instance, "factory_year", None))
        model_year = attrs.get("model_year", getattr(self.instance, "model_year", None))
        if factory and model_year and model_year < factory:
            raise ValidationError({"model_year": "The model year cannot be before the factory year."})
        return attrs


def _as_drf_error(error: DjangoValidationError) -> ValidationError:
    return ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)


class CarFilterBackend(DjangoFilterBackend):
    def get_filterset_kwargs(self, request: Request, queryset: QuerySet[Car], view: Any) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        brand = str(kwargs["data"].get("brand", ""))
        if brand and (renamed := brand_slug_renamed(slug=brand)):
            kwargs["data"] = kwargs["data"].copy()
            kwargs["data"]["brand"] = renamed  # a client still using the slug of before a rename
        return kwargs

    def filter_queryset(self, request: Request, queryset: QuerySet[Car], view: Any) -> QuerySet[Car]:
        # Building the filterset (its filters and its form, deep-copied for each request) was a
        # third of an uncached list's time: not built where it would change nothing.
        filterset = self.get_filterset_class(view, queryset)
        if filterset is not None and filterset.leaves_as_given(request, request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)


# What the car list reads from its query (filters, paging, DRF's format): any other query is not cached.
API_LIST_PARAMETERS = frozenset([*CarFilterSet.base_filters, "page", "page_size", "format"])


class CarViewSet(viewsets.ModelViewSet):
    serializer_class = CarSerializer
    lookup_value_converter = "id"
    permission_classes = [ModelPermissionsOrReadOnly]
    filter_backends = [CarFilterBackend]
    filterset_class = CarFilterSet

    def get_queryset(self) -> QuerySet[Car]:
        is_staff = sees_stock_details(self.request.user)
        if self.action != "list":
            cars = with_price_drop(Car.objects.with_brand())
            if is_staff:
                return cars
            # A salesperson reads a sold car they found by its plate (the list's search); a visitor not.
            hidden = ["withdrawn"] if sees_car_identity(self.request.user) else ["sold", "withdrawn"]
            return cars.exclude(status__in=hidden)
        return car_catalogue(include_unavailable=self._lists_unavailable())  # narrowed: CarFilterSet

    def _lists_unavailable(self) -> bool:
        """Whether the list holds cars not on sale (staff's): the queryset's and the rows' one rule."""
        return sees_car_identity(self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        """A page of the catalogue, cached by the catalogue's version (catalog.pages) for each kind
        of reader, query, site address (its links are absolute) and indent asked for, as the bytes
        the JSON renderer made of it: a hit renders nothing."""
        if request.accepted_renderer.format != "json":
            # The browsable API draws its paging and filter controls from a run of the view.
            return super().list(request, *args, **kwargs)
        renderer = cast(JSONRenderer, request.accepted_renderer)  # the one of format "json"
        refused: list[Response] = []

        def page_bytes() -> bytes | None:
            rows = self._rows()
            if rows is None:
                response = super(CarViewSet, self).list(request, *args, **kwargs)
            else:  # DRF's paging of the rows: its page size, its 404 for a page past the last
                page = cast(list[tuple[Any, ...]], self.paginate_queryset(rows))  # type: ignore[arg-type]  # a queryset's slice and count
                response = self.get_paginated_response(row_writer(self.serializer_class).written(page, request))
            if response.status_code != status.HTTP_200_OK:
                refused.append(response)
                return None
            return renderer.render(response.data, request.accepted_media_type, self.get_renderer_context())

        query = cacheable_query(
            request.query_params, known=API_LIST_PARAMETERS, sent=request.META.get("QUERY_STRING", "")
        )
        reader = reader_kind(request.user)
        where = request.build_absolute_uri("/")
        # What the bytes depend on in the Accept header: its indent, not whatever else a client puts there.
        indent = renderer.get_indent(request.accepted_media_type, self.get_renderer_context()) or 0
        version = catalogue_version(request)
        body = catalogue_cached("api-cars", reader, where, indent, query, render=page_bytes, version=version)
        if body is None:
            return refused[0]
        response = HttpResponse(body, content_type=renderer.media_type)
        shared = reader == "public" and query is not None  # the page every reader who is not staff gets
        return shared_with_anyone(response, version, names_site=True) if shared else response

    def _rows(self) -> CarRows | None:
        """The list as rows (catalog.api_rows), where its query names no filter and no salesperson
        reads it (whose list the filterset widens to their papers' cars); else None."""
        if not CarFilterSet.leaves_as_given(self.request, self.request.query_params):
            return None
        columns = row_writer(self.serializer_class).columns
        return CarRows(include_unavailable=self._lists_unavailable(), columns=columns)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # The catalogue's filters narrow the list; a car's own address is never filtered away.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        try:
            serializer.instance = car_create(**serializer.validated_data)
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        try:
            car: Car = serializer.instance  # type: ignore[assignment]
            serializer.instance = car_update(car=car, **serializer.validated_data)
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="The car is on an order.")})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            car_delete(car=self.get_object())
        except CarInUse as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _switch(self, transition: Any) -> Response:
        car = self.get_object()
        try:
            transition(car_ids=[car.pk])
        except StockError as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
        car.refresh_from_db()
        return Response(CarSerializer(car, context=self.get_serializer_context()).data)

    def _gallery(self, car: Car) -> Response:
        photos = CarPhoto.objects.filter(car_id=car.pk)
        return Response(CarPhotoSerializer(photos, many=True, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], responses={200: CarPhotoSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={201: CarPhotoSerializer(many=True), 400: OpenApiResponse(description="A file was refused.")},
    )
    @action(detail=True, methods=["get", "post"], permission_classes=[ReadsOrStockStaff], pagination_class=None)
    def photos(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The car's gallery after its cover, in order; staff add photos, several at once."""
        car = self.get_object()
        if request.method != "POST":
            return self._gallery(car)
        upload = PhotoUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            added = car_photos_add(car=car, files=upload.validated_data["photos"])
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error
        data = CarPhotoSerializer(added, many=True, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PhotoOrderSerializer, responses={200: CarPhotoSerializer(many=True)})
    @action(
        detail=True,
        methods=["put"],
        url_path="photos/order",
        permission_classes=[staff_with("catalog.change_car")],
        pagination_class=None,
    )
    def photos_order(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Put the gallery in this order (staff)."""
        car = self.get_object()
        order = PhotoOrderSerializer(data=request.data)
        order.is_valid(raise_exception=True)
        try:
            car_photos_reorder(car=car, photo_ids=order.validated_data["photo_ids"])
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error
        return self._gallery(car)

    def _photo(self, photo_id: int) -> CarPhoto:
        photo = CarPhoto.objects.select_related("car").filter(pk=photo_id, car_id=self.get_object().pk).first()
        if photo is None:
            raise NotFound("This car has no such photo.")
        return photo

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path="photos/<id:photo_id>",
        permission_classes=[staff_with("catalog.change_car")],
    )
    def photo_delete(self, request: Request, photo_id: int, *args: Any, **kwargs: Any) -> Response:
        """Delete a photo of the gallery (staff); its files go after commit."""
        car_photo_delete(photo=self._photo(photo_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: CarPhotoSerializer(many=True)})
    @action(
        detail=True,
        methods=["post"],
        url_path="photos/<id:photo_id>/cover",
        permission_classes=[staff_with("catalog.change_car")],
        pagination_class=None,
    )
    def photo_cover(self, request: Request, photo_id: int, *args: Any, **kwargs: Any) -> Response:
        """Make a gallery photo the cover (staff); the old cover takes its place in the gallery."""
        photo = self._photo(photo_id)
        try:
            car = car_photo_make_cover(photo=photo)
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error
        return self._gallery(car)

    @extend_schema(responses={200: PriceChangeSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="price-history", pagination_class=None)
    def price_history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The car's price changes, latest first: the first is its listing (old_value null)."""
        changes = car_price_history(car=self.get_object())
        return Response(PriceChangeSerializer(changes, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        request=None, responses={200: CarSerializer, 409: OpenApiResponse(description="The car is not available.")}
    )
    @action(detail=True, methods=["post"], permission_classes=[staff_with("catalog.change_car")])
    def withdraw(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Take an available car off sale (staff); it keeps its page for staff and counts in stock."""
        return self._switch(cars_withdraw)

    @extend_schema(
        request=None, responses={200: CarSerializer, 409: OpenApiResponse(description="The car is not withdrawn.")}
    )
    @action(detail=True, methods=["post"], permission_classes=[staff_with("catalog.change_car")])
    def relist(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Put a withdrawn car back on sale (staff)."""
        return self._switch(cars_relist)


class BrandViewSet(viewsets.ModelViewSet):
    serializer_class = BrandSerializer
    lookup_value_converter = "id"
    permission_classes = [ModelPermissionsOrReadOnly]
    queryset = brand_list()

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        try:
            serializer.instance = brand_create(name=serializer.validated_data["name"])
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        brand: Brand = serializer.instance  # type: ignore[assignment]
        if "name" not in serializer.validated_data:
            return
        try:
            serializer.instance = brand_rename(brand=brand, name=serializer.validated_data["name"])
        except DjangoValidationError as error:
            raise _as_drf_error(error) from error

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="The brand still has cars.")})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            brand_delete(brand=self.get_object())
        except BrandInUse as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)
