from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carsales.events.models import Delivery

from . import receivers
from .executors import executor, rabbitmq_url  # noqa: F401  (fixtures)
from .processes import Workers


@pytest.fixture(autouse=True)
def fresh_receivers() -> Iterator[None]:
    receivers.calls.clear()
    receivers.failing.clear()
    yield
    receivers.calls.clear()
    receivers.failing.clear()


def ran(name: str) -> list[Any]:
    """The events receiver `name` was called with in this process, in order."""
    return [event for called, event in receivers.calls if called == name]


def delivery_of(receiver: str) -> Delivery:
    return Delivery.objects.get(receiver=f"events_tests.{receiver}")


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()
