"""Layer rule of the guide (§2): ``kilowatt.csms`` knows no OCPP version and no HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kilowatt.csms

PACKAGE_DIR = Path(kilowatt.csms.__file__).parent
FORBIDDEN_PREFIXES = (
    "kilowatt.ocpp",
    "kilowatt.handlers",
    "kilowatt.transport",
    "kilowatt.api",
    "kilowatt.ocpi",
    "kilowatt.app",
    "kilowatt.cli",
    "fastapi",
    "starlette",
    "httpx",
    "websockets",
    "ocpp",
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
def test_csms_imports_no_protocol_or_http(path: Path) -> None:
    bad = [
        name
        for name in _imports(path)
        if any(name == p or name.startswith(p + ".") for p in FORBIDDEN_PREFIXES)
    ]
    assert bad == []
