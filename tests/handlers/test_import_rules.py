"""Layer rule of the guide (§2): handlers talk to services, never to storage, HTTP or the root."""

from __future__ import annotations

from pathlib import Path

import pytest

import kilowatt.handlers
from tests.import_rules import forbidden_imports

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


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.rglob("*.py")), ids=lambda p: p.name)
def test_handlers_import_only_services_protocol_and_transport(path: Path) -> None:
    assert forbidden_imports(path, FORBIDDEN_PREFIXES) == []
