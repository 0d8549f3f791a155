"""A fixture writes past save(): loaded over a stored row, it keeps every state field of every
state-guarded model (core.receivers.state_kept_on_load), and the same rows load again as they are."""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.core import serializers
from django.core.management import call_command
from django.db import models

from carsales.conftest import CarFactory, order_for, sold_car
from carsales.core.state import StateGuardedModel
from carsales.core.tests.invariants import assert_store_is_true
from carsales.orders.models import Order
from carsales.sales.models import Sale

pytestmark = pytest.mark.django_db

GUARDED = sorted(
    (model for model in apps.get_models() if issubclass(model, StateGuardedModel)), key=lambda m: m._meta.label
)


def _stored_rows() -> dict[type, Any]:
    """A stored row of every state-guarded model, with others of each kind to move it to."""
    sold_car()
    order_for(CarFactory())
    return {model: model._default_manager.order_by("pk").first() for model in GUARDED}


def _other(field: models.Field, value: Any) -> Any:
    """A value of `field` other than `value`, as a fixture states it."""
    if field.is_relation:
        related = field.related_model._default_manager.exclude(pk=value).order_by("pk").first()  # type: ignore[union-attr]
        return related.pk
    if field.choices:
        return next(choice for choice, _label in field.choices if choice != value)
    if isinstance(field, models.BooleanField):
        return not value
    if isinstance(field, models.DateTimeField):
        return "2020-01-01T00:00:00Z" if value is None else (value + timedelta(days=1)).isoformat()
    if isinstance(field, models.DecimalField):
        return str((value or Decimal(0)) + 1)
    return (value or 0) + 1


def _load(tmp_path, rows: list[dict]) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    call_command("loaddata", str(path), verbosity=0)


def test_every_state_guarded_model_has_a_row_here():
    assert {model._meta.label for model in GUARDED} >= {"catalog.Car", "orders.Order", "orders.OrderItem", "sales.Sale"}


@pytest.mark.parametrize(
    ("model", "name"),
    [(model, name) for model in GUARDED for name in model.STATE_FIELDS],
    ids=lambda value: value._meta.label if isinstance(value, type) else value,
)
def test_a_fixture_cannot_change_a_stored_rows_state(tmp_path, model, name):
    row = _stored_rows()[model]
    (loaded,) = json.loads(serializers.serialize("json", [row]))
    _load(tmp_path, [loaded])  # the same row again: loads (its times to the millisecond, as dumped)
    field = model._meta.get_field(name)
    stored = getattr(model._default_manager.get(pk=row.pk), field.attname)
    loaded["fields"][name] = _other(field, stored)

    with pytest.raises(TypeError, match=rf"{model.__name__} #{row.pk}, loaded over the stored row: .*{name}"):
        _load(tmp_path, [loaded])

    assert getattr(model._default_manager.get(pk=row.pk), field.attname) == stored
    assert_store_is_true()


def test_a_fixture_cannot_cancel_an_order_and_free_its_car_without_the_cancellation(tmp_path):
    order = Order.objects.get(pk=order_for(CarFactory()).pk)
    line = order.items.get()
    rows = json.loads(serializers.serialize("json", [line.car, order, line]))
    rows[0]["fields"]["status"] = "available"
    rows[1]["fields"].update(status="cancelled", cancelled_at="2026-01-01T00:00:00Z", cancellation_reason="buyer")
    rows[2]["fields"]["holds_car"] = False

    with pytest.raises(TypeError, match="loaded over the stored row"):
        _load(tmp_path, rows)

    assert Order.objects.get(pk=order.pk).status == "placed"
    assert not Sale.objects.exists()
