"""Core's receivers: the state guard on the paths that write past Model.save()."""

from typing import Any

from .state import StateGuardedModel


def state_guarded_save(
    sender: type[StateGuardedModel], instance: StateGuardedModel, raw: bool, using: str, **kwargs: Any
) -> None:
    """A save that skipped save() is refused: `save_base()` would write the state fields as the
    instance holds them (a stale copy undoing a transition, a status typed in by hand). A fixture
    loading a stored row with other state (an order's status or buyer, a line's car or price, a
    sale's amount, a car's stock code) is refused: that would move a state with none of its
    transition's effects, and leave rows that agree with each other but not with what happened;
    a new row loaded outside manage.py loaddata starts where every life starts."""
    if raw:
        instance.check_loaded(using)
    elif not instance._saving:
        raise TypeError(
            f"{sender.__name__} rows are written by save() (its state fields by its transitions): "
            "save_base() skips what keeps them."
        )
