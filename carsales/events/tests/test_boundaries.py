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
