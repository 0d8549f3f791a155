"""DRF's ModelSerializer, its fields worked out from the model once per class."""

import copy
from typing import Any

from rest_framework import serializers
from rest_framework.fields import Field


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer, whose fields it works out from the model once per class.

    DRF works them out again for every serializer made (each request's): the model's fields, their
    validators and uniqueness, field by field; about a millisecond for a car, a tenth of an
    uncached page of the car list. Each serializer gets fresh copies of the fields worked out,
    as DRF copies the declared ones (a copy is made anew from the arguments the field was given),
    so one serializer changing its own fields changes no other's. What a serializer's __init__
    sets (a bound that moves with the calendar) is still set on each.
    """

    def get_fields(self) -> dict[str, Field]:
        built = _BUILT.get(type(self))
        if built is None:
            built = _BUILT[type(self)] = super().get_fields()
        return copy.deepcopy(built)


_BUILT: dict[type[Any], dict[str, Field]] = {}
