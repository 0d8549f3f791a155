"""The benchmarks' shared parts: the executors' fixtures, and the one table `make bench` ends with.

Each benchmark adds its figures with the `figures` fixture (a measure, its value as a ratio to
the floor of the same run, the goal); the run prints them together, beside their goals.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection

from carsales.events.tests.executors import executor, rabbitmq_url  # noqa: F401  (fixtures)


@dataclass(frozen=True)
class Figure:
    database: str
    measure: str
    shown: str  # the value as printed ("x1.42", "53%", "3,804/s")
    goal: str
    met: bool


_FIGURES: list[Figure] = []


@pytest.fixture
def figures() -> Callable[..., None]:
    """`figures(measure, shown, goal=..., met=...)`: one line of the table the run ends with."""

    def add(measure: str, shown: str, *, goal: str, met: bool) -> None:
        _FIGURES.append(Figure(connection.vendor, measure, shown, goal, met))

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("benchmark figures (ratios measured in this run)")
    terminalreporter.write_line("| database | measure | measured | goal | met |")
    terminalreporter.write_line("|---|---|---|---|---|")
    for figure in _FIGURES:
        met = "yes" if figure.met else "no"
        terminalreporter.write_line(
            f"| {figure.database} | {figure.measure} | {figure.shown} | {figure.goal} | {met} |"
        )
