"""Models whose state fields only their transitions write, on every path.

A status written by `save()` from an instance read earlier, by a form, or by a queryset
`update()` in a shell bypasses the service that locks the row, checks the current state and
sends the event. These bases close those paths:

- `save()` of a stored row never writes the state fields: it writes every other loaded field
  (so a stale instance cannot undo a transition), and raises TypeError when a state field was
  changed by hand or named in `update_fields`;
- `save()` of a new row always INSERTs (never overwrites a stored row that has its pk), and
  the whole save — pre_save, the write, post_save — is one transaction;
- a queryset `update()` of a state field raises TypeError; the transitions write through
  `QuerySet.state_write()`, which they call with the rows locked.
"""

from typing import Any, ClassVar

from django.db import models, transaction


class StateGuardedQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        guarded = set(kwargs) & self.model.state_names()
        if guarded:
            raise TypeError(self.model.state_refusal(guarded))
        return super().update(**kwargs)

    def state_write(self, **kwargs: Any) -> int:
        """Write state fields of these rows. For the model's transitions only, rows locked."""
        return super().update(**kwargs)


class StateGuardedModel(models.Model):
    # The fields only the transitions write; set by each subclass.
    STATE_FIELDS: ClassVar[tuple[str, ...]] = ()
    _loaded_state: dict[str, Any] | None = None

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save the row; never its state fields once stored (see the module docstring)."""
        update_fields = kwargs.get("update_fields")
        if self._state.adding:
            self.check_new()
            if not kwargs.get("force_update"):
                kwargs.setdefault("force_insert", True)
        else:
            loaded = self._loaded_state or {}
            by_hand = {name for name, value in loaded.items() if self.__dict__.get(name) != value}
            named = set(update_fields or ()) & self.state_names()
            if by_hand or named:
                raise TypeError(self.state_refusal(by_hand | named))
            if update_fields is None:
                deferred = self.get_deferred_fields()
                kwargs["update_fields"] = [
                    field.attname
                    for field in self._meta.concrete_fields
                    if not field.primary_key and field.name not in self.STATE_FIELDS and field.attname not in deferred
                ]
        with transaction.atomic():
            super().save(*args, **kwargs)
        self._remember_state()

    @classmethod
    def state_refusal(cls, fields: set[str]) -> str:
        """The TypeError message for writing `fields` outside a transition."""
        return f"{cls.__name__} {', '.join(sorted(fields))} change only through its transitions (services)."

    @classmethod
    def state_names(cls) -> set[str]:
        """The state fields by name and by column attribute (`car` and `car_id`)."""
        return {name for field in cls.STATE_FIELDS for name in (field, cls._state_attname(field))}

    @classmethod
    def _state_attname(cls, name: str) -> str:
        return str(getattr(cls._meta.get_field(name), "attname", name))

    def check_new(self) -> None:
        """Raise TypeError if a new row's state is not where every life starts; override."""

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        instance._remember_state()
        return instance

    def _remember_state(self) -> None:
        attnames = [self._state_attname(name) for name in self.STATE_FIELDS]
        self._loaded_state = {name: self.__dict__[name] for name in attnames if name in self.__dict__}

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._remember_state()
