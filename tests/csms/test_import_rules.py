"""Layer rule of the guide (§2): ``kilowatt.csms`` knows no OCPP version and no HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

import kilowatt.csms
from tests.import_rules import forbidden_imports

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


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.rglob("*.py")), ids=lambda p: p.name)
def test_csms_imports_no_protocol_or_http(path: Path) -> None:
    assert forbidden_imports(path, FORBIDDEN_PREFIXES) == []
