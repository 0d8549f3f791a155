"""What a signal's keyword arguments become on their way to a worker: data, never live objects.

A model instance travels by reference, its label and pk, plus the values at send time of the
fields its receiver names (`durable_receiver(fields=...)`: a `post_delete` receiver names what it
needs of the deleted row); nothing else of the row is stored. A model class or a queryset travels as its
model label. JSON values, lists, tuples, sets (as lists) and str-keyed dicts pass; dates,
decimals and UUIDs become strings (DjangoJSONEncoder). Anything else is refused at send time.
"""

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

INSTANCE = "$instance"
MODEL = "$model"


class NotCarriable(TypeError):
    """A signal argument cannot travel to a worker; raised by the send, in the sender's transaction."""


@dataclass(frozen=True)
class InstanceData:
    """A model instance as it was when the signal was sent."""

    model: str  # "app_label.modelname"
    pk: Any
    fields: dict[str, Any]  # concrete fields by attname (a foreign key as `brand_id`)

    def model_class(self) -> type[models.Model]:
        """Return the model class; raises LookupError if the model no longer exists."""
        return apps.get_model(self.model)

    def fetch(self) -> models.Model | None:
        """Return the row as it is now, or None if it was deleted since."""
        return self.model_class()._default_manager.filter(pk=self.pk).first()


@dataclass(frozen=True)
class Event:
    """What a durable receiver is called with: the carried arguments and an idempotency key.

    Carried keyword arguments are attributes too: `event.created`, `event.action`, `event.pk_set`.
    """

    receiver: str  # the receiver's dispatch_uid
    idempotency_key: str  # stable for this (event, receiver) across retries and redeliveries
    attempt: int  # 1 on the first run
    sent_at: datetime
    sender: str  # a model label, a class's dotted path, a string sender, or "" for None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["kwargs"][name]
        except KeyError:
            raise AttributeError(f"The event carries no {name!r}") from None

    @property
    def instance(self) -> InstanceData | None:
        """The `instance` argument of a model signal, as sent."""
        value = self.kwargs.get("instance")
        return value if isinstance(value, InstanceData) else None

    @property
    def instance_pk(self) -> Any:
        return self.instance.pk if self.instance else None

    @property
    def instance_data(self) -> dict[str, Any]:
        return self.instance.fields if self.instance else {}

    @property
    def model(self) -> str | None:
        """The label of the instance's model ("auth.group"), or None without an instance."""
        return self.instance.model if self.instance else None


def sender_label(sender: Any) -> str:
    """Name the sender: a model label, a class's dotted path, a string as is, "" for None.

    Raises NotCarriable for any other object (an instance as sender would be a live object).
    """
    if sender is None:
        return ""
    if isinstance(sender, str):
        return sender
    if isinstance(sender, type) and issubclass(sender, models.Model):
        return sender._meta.label_lower
    if isinstance(sender, type):
        return f"{sender.__module__}.{sender.__qualname__}"
    raise NotCarriable(f"sender={sender!r} ({type(sender).__name__}) cannot be carried: send with a class or a string.")


def carry(kwargs: dict[str, Any], *, receiver: str, fields: Collection[str] = frozenset()) -> dict[str, Any]:
    """Turn a signal's keyword arguments into JSON; `receiver` names the receiver in errors.

    A model instance travels by reference (its model and pk; the receiver reads the row when it
    runs), with only the values of `fields` (names or attnames) as they were at send time: nothing
    else of the row (a password hash, a token) is stored in the delivery.
    Returns a JSON-able dict; raises NotCarriable naming the argument that cannot travel.
    """
    return {
        name: _carry(value, path=name, receiver=receiver, fields=fields)
        for name, value in kwargs.items()
        if name != "signal"
    }


def uncarry(value: Any) -> Any:
    """Rebuild what `carry` wrote: instances become InstanceData, model classes their label."""
    if isinstance(value, dict):
        if INSTANCE in value:
            data = value[INSTANCE]
            return InstanceData(model=data["model"], pk=data["pk"], fields=data["fields"])
        if MODEL in value:
            return value[MODEL]
        return {key: uncarry(item) for key, item in value.items()}
    if isinstance(value, list):
        return [uncarry(item) for item in value]
    return value


def lane_of(kwargs: dict[str, Any]) -> str:
    """The object the event is about, "label:pk", for ordering; "" when it carries none.

    That is the `instance` argument of a model signal, else the first model instance argument.
    """
    candidates = [kwargs.get("instance"), *kwargs.values()]
    for value in candidates:
        if isinstance(value, models.Model) and value.pk is not None:
            return f"{value._meta.label_lower}:{value.pk}"
    return ""


def _carry(value: Any, *, path: str, receiver: str, fields: Collection[str] = frozenset()) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, models.Model):
        return {INSTANCE: _instance(value, path=path, receiver=receiver, fields=fields)}
    if isinstance(value, type) and issubclass(value, models.Model):
        return {MODEL: value._meta.label_lower}
    if isinstance(value, models.QuerySet):
        return {MODEL: value.model._meta.label_lower}
    if isinstance(value, set | frozenset):
        items = [_carry(item, path=f"{path}[]", receiver=receiver, fields=fields) for item in value]
        try:
            return sorted(items)
        except TypeError:  # mixed types: order does not matter for a set
            return items
    if isinstance(value, list | tuple):
        return [
            _carry(item, path=f"{path}[{index}]", receiver=receiver, fields=fields) for index, item in enumerate(value)
        ]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        if INSTANCE in value or MODEL in value:
            raise _refused(value, path=path, receiver=receiver, why="uses a key reserved for carried models")
        return {
            key: _carry(item, path=f"{path}.{key}", receiver=receiver, fields=fields) for key, item in value.items()
        }
    try:
        return _plain(value)
    except TypeError:
        raise _refused(value, path=path, receiver=receiver, why="is not data") from None


def _instance(instance: models.Model, *, path: str, receiver: str, fields: Collection[str]) -> dict[str, Any]:
    values = {}
    for model_field in instance._meta.concrete_fields:
        if model_field.name not in fields and model_field.attname not in fields:
            continue
        raw = model_field.value_from_object(instance)
        try:
            values[model_field.attname] = _plain(model_field.get_prep_value(raw))
        except TypeError:  # binary and custom types: the field's own text form
            values[model_field.attname] = model_field.value_to_string(instance)
    try:
        pk = _plain(instance.pk)
    except TypeError:
        raise _refused(instance.pk, path=f"{path}.pk", receiver=receiver, why="is not data") from None
    return {"model": instance._meta.label_lower, "pk": pk, "fields": values}


def _plain(value: Any) -> Any:
    """JSON form of a scalar via DjangoJSONEncoder (dates, decimals, UUIDs); TypeError otherwise."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _refused(value: Any, *, path: str, receiver: str, why: str) -> NotCarriable:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return NotCarriable(
        f"Durable receiver {receiver!r} cannot carry {path}={shown} ({type(value).__qualname__}): it {why}. "
        "Send ids, model instances or JSON-able values; live objects cannot reach a worker."
    )
