"""The sans-I/O rule of the guide (§2): ``kilowatt.ocpp`` imports no I/O, no clock, no threads,
and nothing from Kilowatt outside itself. Read from the source (ast), so that an import inside a
function or behind ``TYPE_CHECKING`` counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kilowatt.ocpp

FORBIDDEN = {"asyncio", "socket", "websockets", "time", "threading", "selectors", "ssl"}
PACKAGE_DIR = Path(kilowatt.ocpp.__file__).parent
MODULES = sorted(PACKAGE_DIR.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Every absolute module name ``source`` (module ``module``) imports, relative ones resolved."""
    package = module.split(".")
    if not is_package:
        package.pop()
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                names.append(".".join([*base, node.module] if node.module else base))
            else:
                assert node.module is not None
                names.append(node.module)
    return names


def violations(names: list[str]) -> list[str]:
    """The names that break the rule: I/O, clock or threads, or Kilowatt outside kilowatt.ocpp."""

    def bad(name: str) -> bool:
        top = name.split(".")[0]
        inside = name == "kilowatt.ocpp" or name.startswith("kilowatt.ocpp.")
        return top in FORBIDDEN or (top == "kilowatt" and not inside)

    return [name for name in names if bad(name)]


def test_modules_found() -> None:
    assert PACKAGE_DIR / "rpc.py" in MODULES and PACKAGE_DIR / "frames.py" in MODULES


def test_resolver() -> None:
    assert _module_name(PACKAGE_DIR / "__init__.py") == "kilowatt.ocpp"
    assert _module_name(PACKAGE_DIR / "rpc.py") == "kilowatt.ocpp.rpc"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_no_io_and_no_outward_imports(path: Path) -> None:
    names = imported_modules(
        path.read_text(encoding="utf-8"), _module_name(path), is_package=path.name == "__init__.py"
    )
    assert violations(names) == []


def test_checker_catches_violations() -> None:
    source = """
import time, json
from asyncio import sleep
from . import frames
from .codec import x
from .. import storage
from ..csms.services import y
def f():
    import ssl.foo
"""
    names = imported_modules(source, "kilowatt.ocpp.rpc")
    assert names[:2] == ["time", "json"] and "kilowatt.ocpp" in names
    assert "kilowatt.ocpp.codec" in names
    assert violations(names) == ["time", "asyncio", "kilowatt", "kilowatt.csms.services", "ssl.foo"]
    pkg = imported_modules("from . import messages", "kilowatt.ocpp.v16", is_package=True)
    assert pkg == ["kilowatt.ocpp.v16"]
