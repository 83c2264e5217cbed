"""Layer rule of the guide (§2): handlers talk to services, never to storage, HTTP or the root."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kilowatt.handlers

PACKAGE_DIR = Path(kilowatt.handlers.__file__).parent
FORBIDDEN_PREFIXES = (
    "kilowatt.storage",
    "kilowatt.api",
    "kilowatt.ocpi",
    "kilowatt.simulator",
    "kilowatt.app",
    "kilowatt.cli",
    "sqlalchemy",
    "fastapi",
    "starlette",
)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.rglob("*.py")), ids=lambda p: p.name)
def test_handlers_import_only_services_protocol_and_transport(path: Path) -> None:
    bad = [
        name
        for name in _imports(path)
        if any(name == p or name.startswith(p + ".") for p in FORBIDDEN_PREFIXES)
    ]
    assert bad == []
