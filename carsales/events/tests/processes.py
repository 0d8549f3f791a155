"""Worker subprocesses on the test database, for the tests and benchmarks that need real processes."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]
READY = {"events": "started", "celery": "Connected to", "rq": "Listening on"}  # what each logs once it takes work


def wait_until(condition: Callable[[], object], timeout: float = 15.0) -> None:
    """Poll `condition` (for subprocess workers) until it is true; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout}s waiting for {condition}")
        time.sleep(0.05)


def database_url_for_workers() -> str:
    """The URL of the test database this process uses, for worker subprocesses."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{auth}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


class Workers:
    """Worker subprocesses on the test database; their log in `log_dir`, effects in `effects`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.effects = log_dir / "effects.log"
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        wait: bool = True,
        settings: str = "carsales.settings.test",
        executor: str = "events",
    ) -> subprocess.Popen[bytes]:
        """Start a worker with `args` and extra `env`; unless not `wait`, return once it runs.

        `executor`: "events" (events_worker, `args` its options), "celery" or "rq" (a worker of
        that engine on the delivery queues; `env` names its broker, see executors.py).
        """
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_workers(),
            "EVENTS_TEST_LOG": str(self.effects),
            "DJANGO_SETTINGS_MODULE": settings,
            **(env or {}),
        }
        log = (self.log_dir / f"worker{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "carsales.events.tests.worker_main", executor, *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes its children too (RQ's scheduler)
        )
        self.processes.append(process)
        if wait:
            wait_until(lambda: READY[executor] in self.output(process), timeout=20)
        return process

    def output(self, process: subprocess.Popen[bytes]) -> str:
        index = self.processes.index(process)
        return (self.log_dir / f"worker{index}.log").read_text(errors="replace")

    def effect_lines(self, name: str) -> list[str]:
        if not self.effects.exists():
            return []
        return [line for line in self.effects.read_text().splitlines() if line.startswith(f"{name} ")]

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and every process it started, as a crash of its machine would."""
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process)
