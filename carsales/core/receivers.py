"""Core's receivers: the state guard on the one path that writes past Model.save(), a fixture."""

from typing import Any

from .state import StateGuardedModel


def state_kept_on_load(
    sender: type[StateGuardedModel], instance: StateGuardedModel, raw: bool, using: str, **kwargs: Any
) -> None:
    """A fixture loading a stored row with other state (an order's status or buyer, a line's
    car or price, a sale's amount) is refused: that would move a state with none of its
    transition's effects, and leave rows that agree with each other but not with what happened."""
    if raw:
        instance.check_loaded_over_stored(using)
