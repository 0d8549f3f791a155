"""carsales.core.serializers.ModelSerializer: DRF's fields, worked out from the model once per class."""

from typing import Any

import pytest
from rest_framework import serializers

from carsales.catalog.api import CarSerializer
from carsales.catalog.models import Car
from carsales.core.serializers import ModelSerializer

pytestmark = pytest.mark.django_db  # a field's description shows its validators' querysets


def _serializers() -> tuple[type[ModelSerializer], type[serializers.ModelSerializer]]:
    """A serializer of ours, new (its fields not yet worked out), and DRF's twin of it."""

    class Meta:
        model = Car
        fields = ["id", "brand", "model", "value", "vin", "status", "created_at"]
        read_only_fields = ["status"]

    ours = type("Ours", (ModelSerializer,), {"Meta": Meta})
    theirs = type("Theirs", (serializers.ModelSerializer,), {"Meta": Meta})
    return ours, theirs


def _described(serializer: serializers.Serializer) -> dict[str, str]:
    return {name: repr(field) for name, field in serializer.fields.items()}


def test_the_fields_are_worked_out_from_the_model_once_per_class(monkeypatch: Any):
    ours, _ = _serializers()
    built: list[str] = []
    building = serializers.ModelSerializer.build_field

    def counted(self: Any, field_name: str, *args: Any) -> Any:
        built.append(field_name)
        return building(self, field_name, *args)

    monkeypatch.setattr(serializers.ModelSerializer, "build_field", counted)

    assert ours().fields and len(built) == len(ours.Meta.fields)
    built.clear()
    assert ours().fields and ours(many=True).child.fields
    assert built == []


def test_the_fields_are_drfs_own():
    ours, theirs = _serializers()

    assert _described(ours()) == _described(theirs())
    assert _described(ours()) == _described(theirs())  # and so they stay


def test_each_serializer_has_fields_of_its_own():
    ours, _ = _serializers()
    first, second = ours(), ours()
    first.fields["model"].help_text = "Changed on the first one only."

    assert all(first.fields[name] is not second.fields[name] for name in first.fields)
    assert second.fields["model"].help_text != "Changed on the first one only."
    assert first.fields["model"].parent is first and second.fields["model"].parent is second


def test_what_a_serializer_sets_for_itself_is_set_on_each(monkeypatch: Any):
    import carsales.catalog.api as api

    assert CarSerializer().fields["model_year"].max_value == api.next_year()
    monkeypatch.setattr(api, "next_year", lambda: 3000)  # the calendar moved on

    assert CarSerializer().fields["model_year"].max_value == 3000
