"""Every model whose rows only its own app writes (OwnWritesModel), by every ORM path a shell or a
script may take: each refused, nothing written. (A data migration's historical models and a fixture
write past the guard: the recount commands and loaddata's checks judge what they leave.) A new such model fails
here until it has a stored row to try the paths on."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import models, transaction

from carsales.analytics.models import DailySales, OrderEvent
from carsales.catalog.models import BrandSlugHistory, CarVinReport, CatalogueVersion, PriceChange
from carsales.catalog.services import brand_rename, car_vin_decode
from carsales.conftest import CarFactory, order_for
from carsales.core.own_writes import OwnWritesModel
from carsales.core.tests.invariants import store_problems
from carsales.inventory.models import CarInventory, InventoryTotals
from carsales.orders.services import order_mark_paid

pytestmark = pytest.mark.django_db


def _stored(model: type[models.Model]) -> models.Model:
    """A row of `model` as the app's own code wrote it: a car listed with its VIN decoded, its
    brand renamed, and its order paid."""
    car = CarFactory(value=Decimal("10"), vin="1HGCM82633A004352")
    car_vin_decode(car_id=car.pk, vin=car.vin)
    brand_rename(brand=car.brand, name=f"{car.brand.name} Motors")
    order_mark_paid(order=order_for(car), actor=AnonymousUser())
    return model.objects.order_by("-pk").first()  # type: ignore[attr-defined]


GUARDED = [
    CatalogueVersion,
    PriceChange,
    BrandSlugHistory,
    CarVinReport,
    InventoryTotals,
    CarInventory,
    OrderEvent,
    DailySales,
]


def _editable(row: models.Model) -> str:
    """A column of the row people might set by hand: a number or a text, not a key."""
    return next(
        field.attname
        for field in row._meta.concrete_fields
        if isinstance(field, (models.IntegerField, models.DecimalField, models.CharField)) and not field.primary_key
    )


def _values(row: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if not f.primary_key}


def _twin(row: models.Model) -> models.Model:
    """A new row with the stored one's values: a copy written by hand."""
    return type(row)(**_values(row))


def _change(row: models.Model) -> dict[str, Any]:
    """A new value for its editable column."""
    name = _editable(row)
    return {name: "7" if isinstance(row._meta.get_field(name), models.CharField) else 7}


def _changed(row: models.Model) -> models.Model:
    for name, value in _change(row).items():
        setattr(row, name, value)
    return row


def _objects(row: models.Model) -> Any:
    return type(row).objects  # type: ignore[attr-defined]


PATHS: dict[str, Callable[[models.Model], Any]] = {
    "save a new row": lambda row: _twin(row).save(),
    "create": lambda row: _objects(row).create(**_values(row)),
    "save the stored row": lambda row: _changed(row).save(),
    "save naming the field": lambda row: _changed(row).save(update_fields=[_editable(row)]),
    "queryset update": lambda row: _objects(row).filter(pk=row.pk).update(**_change(row)),
    "base manager update": lambda row: type(row)._base_manager.filter(pk=row.pk).update(**_change(row)),
    "bulk_update": lambda row: _objects(row).bulk_update([_changed(row)], [_editable(row)]),
    "bulk_create": lambda row: _objects(row).bulk_create([_twin(row)]),
    "bulk_create over the stored row": lambda row: _objects(row).bulk_create(
        [_changed(row)], update_conflicts=True, unique_fields=["pk"], update_fields=[_editable(row)]
    ),
    "update_or_create": lambda row: _objects(row).update_or_create(pk=row.pk, defaults=_change(row)),
    "get_or_create": lambda row: _objects(row).get_or_create(pk=row.pk + 1000, defaults=_values(row)),
    "instance delete": lambda row: row.delete(),
    "queryset delete": lambda row: _objects(row).filter(pk=row.pk).delete(),
    "base manager delete": lambda row: type(row)._base_manager.filter(pk=row.pk).delete(),
}


def test_every_model_kept_by_its_own_app_is_tried_here():
    guarded = {model for model in apps.get_models() if issubclass(model, OwnWritesModel)}
    assert guarded == set(GUARDED)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("model", GUARDED, ids=lambda model: model.__name__)
def test_no_orm_path_writes_a_row_its_own_app_keeps(model, path):
    row = _stored(model)
    before = list(model.objects.order_by("pk").values())

    with pytest.raises(TypeError, match=model.own_writes.refusal[:40]), transaction.atomic():
        PATHS[path](row)

    assert list(model.objects.order_by("pk").values()) == before
    assert store_problems() == []
