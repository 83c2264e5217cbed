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


def test_base_does_not_import_the_modules_built_on_it() -> None:
    # handlers/base ↔ handlers/gateway was an import cycle (issue 11): the registry and the
    # factory build on the base class, never the other way round.
    base = PACKAGE_DIR / "base.py"
    built_on_base = (
        "kilowatt.handlers.registry",
        "kilowatt.handlers.factory",
        "kilowatt.handlers.v16",
        "kilowatt.handlers.v201",
        "kilowatt.handlers.v21",
    )
    assert forbidden_imports(base, built_on_base) == []


def test_one_gateway_and_the_connection_class_name() -> None:
    import kilowatt.transport

    modules = [p.stem for p in PACKAGE_DIR.rglob("*.py")]
    assert "gateway" not in modules  # the one gateway is kilowatt.csms.gateway
    # The CSMS-side connection class is StationPeer; ChargePoint is the ocpp package's name.
    assert not hasattr(kilowatt.transport, "ChargePoint")
    assert hasattr(kilowatt.transport, "StationPeer")
