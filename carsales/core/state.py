"""Models whose state fields only their transitions write, on every path.

A status written by `save()` from an instance read earlier, by a form, or by a queryset
`update()` in a shell bypasses the service that locks the row, checks the current state and
sends the event. These bases close those paths:

- `save()` of a stored row never writes the state fields: it writes every other loaded field
  (so a stale instance cannot undo a transition), and raises TypeError when a state field was
  changed by hand or named in `update_fields`;
- `save()` of a new row always INSERTs (never overwrites a stored row that has its pk), and
  the whole save — pre_save, the write, post_save — is one transaction; `save(force_update=True)`
  of an instance made by hand over a stored pk writes no state field either;
- a new row — by `save()`, `create()` or `bulk_create()` — starts in the state every life starts
  in (each state field at its default), unless a transition writes it (`transition()`); a model
  whose rows only a service may create names it in CREATED_BY, and every other path is refused;
- a queryset `update()` or `bulk_update()` of a state field raises TypeError; the transitions
  write through `QuerySet.state_write()`, which they call with the rows locked;
- a fixture (`loaddata`, a raw save) loaded over a stored row keeps its state fields; a new row
  loaded outside `manage.py loaddata` (which checks that what it loads agrees, once all is in)
  starts where every life starts, as a `create()` does;
- `save_base()`, which skips `save()`, is refused (core.receivers.state_guarded_save: a pre_save
  on every guarded model, which every path but a queryset's sends).

FIXED_FIELDS are written once, with the new row, and never after: by no path, no transition.

Every refusal is a TypeError whose message names the service to call instead.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, ClassVar

from django.db import models, router, transaction

from carsales.core.db import one_round_trip
from carsales.core.tracking import locked_ahead
from carsales.events.dumps import changed_on_load

_in_transition: ContextVar[bool] = ContextVar("in_state_transition", default=False)
_in_checked_load: ContextVar[bool] = ContextVar("in_checked_load", default=False)


@contextmanager
def transition() -> Iterator[None]:
    """Let the block create rows in a state other than the initial one: for services only."""
    token = _in_transition.set(True)
    try:
        yield
    finally:
        _in_transition.reset(token)


@contextmanager
def checked_load() -> Iterator[None]:
    """A fixture load whose rows are checked to agree once all are in (manage.py loaddata): the
    new rows it writes may come in any state."""
    token = _in_checked_load.set(True)
    try:
        yield
    finally:
        _in_checked_load.reset(token)


class StateGuardedQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        guarded = set(kwargs) & self.model.state_names()
        if guarded:
            raise TypeError(self.model.state_refusal(guarded))
        return super().update(**kwargs)

    def state_write(self, **kwargs: Any) -> int:
        """Write state fields of these rows. For the model's transitions only, rows locked."""
        return super().update(**kwargs)

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        rows = list(objs)
        self.check_new_rows(rows)
        return super().bulk_create(rows, *args, **kwargs)

    def check_new_rows(self, rows: list[Any]) -> None:
        """Raise TypeError unless these new rows may be bulk-created; a queryset may add checks."""
        for row in rows:
            row.check_new_row()

    def bulk_update(self, objs: Iterable[Any], fields: Sequence[str], *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        guarded = set(fields) & self.model.state_names()
        if guarded:
            raise TypeError(self.model.state_refusal(guarded))
        return super().bulk_update(objs, fields, *args, **kwargs)


class StateGuardedModel(models.Model):
    # The fields only the transitions write; set by each subclass.
    STATE_FIELDS: ClassVar[tuple[str, ...]] = ()
    # Fields given with the new row and never changed after, by any path or transition.
    FIXED_FIELDS: ClassVar[tuple[str, ...]] = ()
    # The service that alone creates rows of this model ("orders.services.order_place"), if any.
    CREATED_BY: ClassVar[str] = ""
    _loaded_state: dict[str, Any] | None = None
    _saving = False  # inside save(): a pre_save sent without it came from save_base()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save the row; never its state fields once stored (see the module docstring)."""
        update_fields = kwargs.get("update_fields")
        if self._state.adding and not kwargs.get("force_update"):
            self.check_new_row()
            kwargs.setdefault("force_insert", True)
        else:
            loaded = self._loaded_state if not self._state.adding else self._stored_state()
            by_hand = {name for name, value in (loaded or {}).items() if self.__dict__.get(name) != value}
            named = set(update_fields or ()) & self.state_names()
            if by_hand or named:
                raise TypeError(self.state_refusal(by_hand | named))
            if update_fields is None:
                deferred = self.get_deferred_fields()
                kwargs["update_fields"] = [
                    field.attname
                    for field in self._meta.concrete_fields
                    if not field.primary_key
                    and field.name not in self.STATE_FIELDS + self.FIXED_FIELDS
                    and field.attname not in deferred
                ]
        # One transaction for pre_save, the write and post_save; inside a caller's transaction it
        # joins it without a savepoint, as Django's own save does: a failed save fails the caller.
        # The derived data its receivers write go in one round trip (PostgreSQL).
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        self._saving = True
        try:
            with transaction.atomic(using=using, savepoint=False), one_round_trip(using):
                super().save(*args, **kwargs)
        finally:
            self._saving = False
        self._remember_state()

    def delete(self, using: Any = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        """Delete the row; what its receivers write go in one round trip inside the caller's
        transaction (PostgreSQL), as a save's.

        The row is locked before Django looks for the rows protecting it (an order line keeping a
        car): a checkout reserving it meanwhile has then either committed its line (found: a
        ProtectedError, nothing written) or waits for this delete and finds the row gone; never
        a line pointing at a deleted row (an IntegrityError at the commit, a 500). Inside a
        caller's transaction, no block of its own: a delete refused before it writes leaves that
        transaction usable, as Django's does; outside one, one block for the lock and the delete.
        """
        using = using or router.db_for_write(type(self), instance=self)
        alone = not transaction.get_connection(using).in_atomic_block
        with transaction.atomic(using=using) if alone else nullcontext(), one_round_trip(using):
            if not locked_ahead(self):  # a service's StoredRow.locked() has it locked and read
                type(self)._base_manager.using(using).filter(pk=self.pk).select_for_update().exists()
            return super().delete(using=using, keep_parents=keep_parents)

    def check_loaded(self, using: str) -> None:
        """A fixture writes past save(): raise TypeError if this row, loaded over a stored one,
        carries other state or fixed fields than the stored row's; or if it is new and loaded
        outside a checked load (checked_load) in a state no life starts in. Within one, a new
        row's state is checked by the loading app's contradictions, with the rows it loads."""
        changed = changed_on_load(self, self._guarded_attnames(), using)
        if changed is None:
            if not _in_checked_load.get():
                self.check_new_row()
        elif changed:
            raise TypeError(
                f"{type(self).__name__} #{self.pk}, loaded over the stored row: {self.state_refusal(set(changed))}"
            )

    def _stored_state(self) -> dict[str, Any] | None:
        """The state and fixed fields of the stored row this instance, made by hand, is forced onto."""
        return type(self)._base_manager.filter(pk=self.pk).values(*self._guarded_attnames()).first()

    @classmethod
    def _guarded_attnames(cls) -> list[str]:
        return [cls._state_attname(name) for name in cls.STATE_FIELDS + cls.FIXED_FIELDS]

    def check_new_row(self) -> None:
        """Raise TypeError unless this new row may be written by the path writing it."""
        if not _in_transition.get():
            if self.CREATED_BY:
                raise TypeError(
                    f"{type(self).__name__} rows are created by {self.CREATED_BY} only, which keeps the "
                    "stock, the order's events and their effects together; call it instead."
                )
            for name in self.STATE_FIELDS:
                field = self._meta.get_field(name)
                initial = field.get_default()  # type: ignore[union-attr]
                if getattr(self, getattr(field, "attname", name)) != initial:
                    raise TypeError(
                        f"A new {type(self).__name__} starts with {name} {getattr(initial, 'value', initial)!r}: "
                        f"{self.state_refusal({name})}"
                    )
        self.check_new()

    @classmethod
    def state_refusal(cls, fields: set[str]) -> str:
        """The TypeError message for writing `fields` (state or fixed) outside a transition."""
        fixed = {name for field in cls.FIXED_FIELDS for name in (field, cls._state_attname(field))} & fields
        said = []
        if fields - fixed:
            said.append(
                f"{cls.__name__} {', '.join(sorted(fields - fixed))} change only through its transitions (services)."
            )
        if fixed:
            said.append(f"{cls.__name__} {', '.join(sorted(fixed))}: given with the new row, never changed after.")
        return " ".join(said)

    @classmethod
    def state_names(cls) -> set[str]:
        """The state and fixed fields by name and by column attribute (`car` and `car_id`)."""
        return {name for field in cls.STATE_FIELDS + cls.FIXED_FIELDS for name in (field, cls._state_attname(field))}

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
        self._loaded_state = {name: self.__dict__[name] for name in self._guarded_attnames() if name in self.__dict__}

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._remember_state()
