from collections.abc import Iterator
from pathlib import Path

import pytest

from carsales.events.tests.executors import executor, rabbitmq_url  # noqa: F401  (fixtures)
from carsales.events.tests.processes import Workers


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Worker subprocesses on the test database; each start() names its settings and environment."""
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()
