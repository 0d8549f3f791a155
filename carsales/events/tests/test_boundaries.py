"""carsales.events is reusable: it imports Django, django-tasks(-db) and the stdlib, no carsales app."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1]


def test_the_events_app_imports_no_other_carsales_app():
    offending = []
    for source in APP.rglob("*.py"):
        if "tests" in source.relative_to(APP).parts:
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offending += [
                f"{source.relative_to(APP)}: {name}"
                for name in names
                if name.startswith("carsales.") and not name.startswith("carsales.events")
            ]
    assert offending == []


def test_the_events_app_names_no_project_in_its_code_or_templates():
    """Channel, logger, task and template names come from settings or the package itself, so
    it could ship as its own package: "carsales" appears only as that package's import path."""
    mentions = [
        f"{source.relative_to(APP)}:{number}"
        for source in [*APP.rglob("*.py"), *APP.rglob("*.html")]
        if not {"tests", "migrations"} & set(source.relative_to(APP).parts)
        for number, line in enumerate(source.read_text().splitlines(), 1)
        if "carsales" in line.replace("carsales.events", "")
    ]
    assert mentions == []
