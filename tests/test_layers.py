"""The layers and names of the architecture (docs/topics/architecture.md).

The layer rules and the absence of import cycles are import-linter contracts in
``pyproject.toml`` (``[tool.importlinter]``); this module runs them, so that ``make test`` holds
them as ``make lint`` does, and checks the names that must not collide.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import kilowatt

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = Path(kilowatt.__file__).parent


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    command = str(lint_imports) if lint_imports.exists() else shutil.which("lint-imports")
    assert command is not None, "import-linter is a dev dependency (uv.lock)"
    result = subprocess.run(
        [command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_gateway_one_journal_one_events_and_the_connection_class_name() -> None:
    import kilowatt.transport

    stems: dict[str, list[str]] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        stems.setdefault(path.stem, []).append(str(path.relative_to(PACKAGE_DIR)))
    assert stems["gateway"] == ["csms/gateway.py"]  # the one gateway
    # "events" are the domain's (kilowatt.csms.events: what changed in the CSMS); what the
    # sans-I/O core reports is kilowatt.ocpp.rpc_events.
    assert stems["events"] == ["csms/events.py"]
    # One message journal: its service and its SQL repository (storage/sql/ names each module
    # after the aggregate it stores, like csms/ names each service).
    assert sorted(stems["journal"]) == ["csms/journal.py", "storage/sql/journal.py"]
    # The CSMS-side connection class is StationPeer; ChargePoint is the ocpp package's name.
    assert not hasattr(kilowatt.transport, "ChargePoint")
    assert hasattr(kilowatt.transport, "StationPeer")
