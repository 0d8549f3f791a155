"""Rows only their own app's code writes (a record, a roll-up), on every ORM path.

A model names its gate (`own_writes = OwnWrites(...)`) and takes OwnWritesModel and a queryset
of OwnWritesQuerySet: then `save()`, `delete()`, and a queryset's `update()`, `bulk_update()`,
`bulk_create()` (never an upsert) and `delete()` raise TypeError with the gate's refusal, unless
they run inside `Model.own_writes.opened()`, which the app's services open (an INSERT_ONLY model
saves new rows only, even inside it). A model whose base
manager is its guarded one (`Meta.base_manager_name = "objects"`) is guarded on Django's own paths
too. A fixture writes past them (a raw save): the app's loaddata checks judge what it loads. So
does a data migration (its historical models have neither the queryset nor the save here).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

from django.db import models


class OwnWrites:
    def __init__(self, name: str, *, refusal: str) -> None:
        self._open: ContextVar[bool] = ContextVar(name, default=False)
        self.refusal = refusal

    @contextmanager
    def opened(self) -> Iterator[None]:
        """Let the block write these rows: for their own app's services (and tests building them)."""
        token = self._open.set(True)
        try:
            yield
        finally:
            self._open.reset(token)

    def check(self) -> None:
        if not self._open.get():
            raise TypeError(self.refusal)


class OwnWritesQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        self.model.own_writes.check()
        return super().update(**kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], *args: Any, **kwargs: Any) -> int:
        self.model.own_writes.check()
        return super().bulk_update(objs, fields, *args, **kwargs)

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        self.model.own_writes.check()
        if kwargs.get("update_conflicts"):  # it would rewrite the rows whose keys it names
            raise TypeError(self.model.own_writes.refusal)
        return super().bulk_create(objs, *args, **kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self.model.own_writes.check()
        return super().delete()

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class OwnWritesModel(models.Model):
    own_writes: ClassVar[OwnWrites]
    # A record written once and never changed, even by its own app: save() INSERTs a new row only.
    INSERT_ONLY: ClassVar[bool] = False

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.INSERT_ONLY:
            if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields") is not None:
                raise TypeError(self.own_writes.refusal)
            kwargs["force_insert"] = True  # never over a stored row given its pk
        self.own_writes.check()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self.own_writes.check()
        return super().delete(*args, **kwargs)
