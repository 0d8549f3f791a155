"""The app that sends a signal never imports the apps that react to it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]  # the carsales package

# app -> apps it must never import (they react to its signals)
FORBIDDEN = {
    "catalog": {"inventory", "orders", "sales", "notifications", "analytics", "audit"},
    "orders": {"sales", "notifications", "analytics", "audit"},
    "sales": {"notifications", "analytics", "audit"},
    "accounts": {"orders", "sales", "notifications", "analytics", "audit", "inventory"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("app, forbidden", sorted(FORBIDDEN.items()))
def test_a_sending_app_does_not_import_the_apps_that_react(app, forbidden):
    offenders = [
        f"{source.relative_to(PACKAGE)} imports {name}"
        for source in (PACKAGE / app).rglob("*.py")
        if "tests" not in source.relative_to(PACKAGE).parts  # tests may import anything
        for name in imported_modules(source)
        if any(name == f"carsales.{other}" or name.startswith(f"carsales.{other}.") for other in forbidden)
    ]

    assert offenders == []


@pytest.mark.django_db
def test_the_migrations_match_the_models(settings):
    from io import StringIO

    from django.core.management import call_command

    # The test run disables migrations (--no-migrations), which would make this check pass
    # whatever the models say: read the real migration modules.
    settings.MIGRATION_MODULES = {}
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


@pytest.mark.parametrize("views", sorted(PACKAGE.glob("*/views.py")), ids=lambda path: path.parent.name)
def test_no_view_sends_a_signal_views_call_services_and_selectors(views: Path):
    sends = [
        node.lineno
        for node in ast.walk(ast.parse(views.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in {"send", "send_robust", "asend", "asend_robust"}
    ]

    assert sends == [], f"{views} sends a signal on lines {sends}"
