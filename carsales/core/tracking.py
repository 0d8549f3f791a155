"""What a save or a delete changed, read from the database: one declared tracker per model.

    class Car(models.Model):
        stored = StoredRow("status", "thumbnail", typed_in=True)  # and every field people type in

    Car.stored.before(car)     # the row as stored before this save or delete, locked; None if new or gone
    Car.stored.after(car)      # what this save wrote (state fields a save never writes: as stored)
    Car.stored.changed(car, "photo")

Receivers that keep derived data must not trust the instance they are handed: it may have been
read before a checkout moved the car on, and `save()` does not write the state fields. So the
tracker reads the stored row once per save or delete — in a pre_save / pre_delete receiver it
connects when the model class is created, ahead of every app's receivers — under a row lock
(`select_for_update(of=("self",))`) inside the write's transaction, and every receiver asks it.

It also keeps a per-save scratch (`note` / `noted`) for what one receiver of a save must hand to
another (an upload's foreseen name), so nothing else is stashed on instances.
"""

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_save, pre_delete, pre_save

from .gone import deleted_meanwhile

_SLOT = "_stored_row"  # the one attribute a tracked instance carries: this save's _Reading
_AHEAD = "_stored_row_ahead"  # the row `StoredRow.locked` read for the save it wraps


def locked_ahead(instance: models.Model) -> bool:
    """Whether `instance`'s row is locked and read for its next save or delete (StoredRow.locked)."""
    return _AHEAD in instance.__dict__


@dataclass
class _Reading:
    before: dict[str, Any] | None
    raw: bool  # a fixture load: the save writes every field as given
    update_fields: frozenset[str] | None
    notes: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Any] | None = None  # after(), taken as the save's post_save began


class StoredRow:
    """A model's tracker: declare it as a class attribute with the fields receivers need, and
    `typed_in=True` for every field people type in as well."""

    def __init__(self, *fields: str, typed_in: bool = False) -> None:
        self.named = fields
        self.with_typed_in = typed_in
        self.model: type[models.Model] | None = None

    @cached_property
    def typed_in(self) -> tuple[str, ...]:
        """The fields people type in, as attributes: the editable concrete ones, which forms,
        serializers and the admin offer. Read once the model's fields are all known."""
        assert self.model is not None
        meta = self.model._meta
        return tuple(field.attname for field in meta.concrete_fields if field.editable and not field.primary_key)

    @cached_property
    def fields(self) -> tuple[str, ...]:
        typed_in = [name for name in self.typed_in if name not in self.named] if self.with_typed_in else []
        return (*self.named, *typed_in)

    def typed_in_among(self, names: Iterable[str]) -> list[str]:
        """The fields people type in among `names` (each by its name or its column attribute), as
        column attributes, in the model's order: what a queryset update of `names` writes of them."""
        named = {self._column.get(name) for name in names}
        return [name for name in self.typed_in if name in named]

    @cached_property
    def _column(self) -> dict[str, str]:
        """Each concrete field's column attribute, by its name or that attribute: save() takes a
        relation by either (brand, brand_id). Built once: asked on every save."""
        assert self.model is not None
        fields = self.model._meta.concrete_fields
        return {name: field.attname for field in fields for name in (field.name, field.attname)}

    @cached_property
    def _state_columns(self) -> frozenset[str]:
        return frozenset(self._column[name] for name in getattr(self.model, "STATE_FIELDS", ()))

    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        self.model = cls
        setattr(cls, name, self)
        uid = f"tracking.{cls.__module__}.{cls.__qualname__}"
        # Connected as the class is created: before any app's receivers, so they can all ask.
        pre_save.connect(self._read_before_save, sender=cls, weak=False, dispatch_uid=f"{uid}.save")
        post_save.connect(self._take_what_was_written, sender=cls, weak=False, dispatch_uid=f"{uid}.saved")
        pre_delete.connect(self._read_before_delete, sender=cls, weak=False, dispatch_uid=f"{uid}.delete")

    def _read(self, instance: models.Model, *, also: Collection[str] = ()) -> dict[str, Any] | None:
        assert self.model is not None
        if instance.pk is None:
            return None
        rows = self.model._base_manager.filter(pk=instance.pk)
        if transaction.get_connection().in_atomic_block:
            rows = rows.select_for_update(of=("self",))
        return rows.values(*self.fields, *also).first()

    @contextmanager
    def locked(self, instance: models.Model, *, refresh: Collection[str] = ()) -> Iterator[None]:
        """Lock `instance`'s row and read it, in the caller's transaction, for the saves of it the
        block makes: a service that must lock the row before it changes it (and know it is there)
        pays for one read, not two. Raises the model's DoesNotExist, marked as deleted meanwhile
        (core.gone: a 404), when the row is gone. The reading goes to the first save or delete of
        this instance; save or delete no other copy of the row before it.

        `refresh` (attribute names): set on `instance` as the locked row holds them, in the same
        read: a save writing some fields then checks its row as it will be, not a stale copy."""
        assert self.model is not None
        row = self._read(instance, also=refresh)
        if row is None:
            raise deleted_meanwhile(self.model)
        for name in refresh:
            setattr(instance, name, row[name])
        instance.__dict__[_AHEAD] = {name: row[name] for name in self.fields}
        try:
            yield
        finally:
            instance.__dict__.pop(_AHEAD, None)

    def _read_before_save(
        self, sender: Any, instance: models.Model, raw: bool = False, update_fields: Any = None, **kwargs: Any
    ) -> None:
        # An instance given its pk by hand (a fixture, a forced update) may name a stored row: read it.
        fields = frozenset(update_fields) if update_fields is not None else None
        ahead = instance.__dict__.pop(_AHEAD, None)  # a save's reading is its own: a second save reads again
        setattr(instance, _SLOT, _Reading(ahead if ahead is not None else self._read(instance), raw, fields))

    def _take_what_was_written(self, sender: Any, instance: models.Model, **kwargs: Any) -> None:
        # What the row holds now, before any receiver of post_save runs: one that assigns a field
        # (which saves nothing) cannot make the others count what was never written.
        reading = self._reading(instance)
        reading.written = self._after(instance, reading)

    def _read_before_delete(self, sender: Any, instance: models.Model, **kwargs: Any) -> None:
        ahead = instance.__dict__.pop(_AHEAD, None)  # read by locked(), as for a save
        setattr(instance, _SLOT, _Reading(ahead if ahead is not None else self._read(instance), False, None))

    def _reading(self, instance: models.Model) -> _Reading:
        reading = instance.__dict__.get(_SLOT)
        if reading is None:
            raise RuntimeError(f"{type(instance).__name__}.stored is read during a save or a delete only.")
        return reading

    def before(self, instance: models.Model) -> dict[str, Any] | None:
        """The tracked fields as stored before this save or delete (row locked); None when
        the row did not exist (a new instance, or a row deleted meanwhile)."""
        return self._reading(instance).before

    def after(self, instance: models.Model) -> dict[str, Any]:
        """The tracked fields as this save left the row: what it wrote from the instance, and
        the stored value of every field it did not write (state fields, fields outside
        update_fields); taken as its post_save began, whatever a receiver assigns after."""
        reading = self._reading(instance)
        return dict(reading.written) if reading.written is not None else self._after(instance, reading)

    def _after(self, instance: models.Model, reading: _Reading) -> dict[str, Any]:
        written = self._written(instance, reading)
        stored = reading.before or {}
        return {
            name: self._value(instance, name) if name in written or name not in stored else stored[name]
            for name in self.fields
        }

    def changed(self, instance: models.Model, name: str) -> bool:
        before = self.before(instance)
        return before is None or before[name] != self.after(instance)[name]

    def note(self, instance: models.Model, key: str, value: Any) -> None:
        """Keep `value` for the other receivers of this same save or delete."""
        self._reading(instance).notes[key] = value

    def noted(self, instance: models.Model, key: str, default: Any = None) -> Any:
        return self._reading(instance).notes.get(key, default)

    def _written(self, instance: models.Model, reading: _Reading) -> set[str]:
        if reading.raw or reading.before is None:
            return set(self.fields)
        if reading.update_fields is None:
            names = set(self.fields)
        else:
            names = {self._column[name] for name in reading.update_fields}
        return names - self._state_columns

    @staticmethod
    def _value(instance: models.Model, name: str) -> Any:
        value = getattr(instance, name)
        return value.name or "" if isinstance(value, models.fields.files.FieldFile) else value
