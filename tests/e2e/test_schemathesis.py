"""The API contract: schemathesis against a running ``kilowatt serve`` and its ``/openapi.json``.

Every check is on (server errors, response schemas, status codes, content types, headers, and
the negative-data checks: schema-violating requests must be refused, schema-valid ones
accepted). The run is bounded by examples per operation and by a time budget, so it fits the
CI machine; ``--seed`` makes a failure reproducible. The verdict is schemathesis' exit status
and its JSON report, never its message text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ServerFactory
from .support import API_KEY, KilowattServer

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 20
"""Test cases per operation and phase."""
MAX_TIME = 120
"""s: the time budget of the whole run (fuzzing and stateful phases repeat until it is spent)."""
SEED = 20261203


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KilowattServer]:
    """One SQLite server, registration open, API key :data:`API_KEY` (the e2e defaults)."""
    factory = ServerFactory("sqlite", tmp_path_factory.mktemp("kw-contract"))
    try:
        yield factory.start()
    finally:
        factory.close()


@pytest.mark.slow
def test_openapi_contract(contract_server: KilowattServer, tmp_path: Path) -> None:
    report = tmp_path / "schemathesis.json"
    origin = contract_server.api_url.removesuffix("/api/v1")
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{origin}/openapi.json",
            "--header",
            f"Authorization: Bearer {API_KEY}",
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--max-time",
            str(MAX_TIME),
            "--seed",
            str(SEED),
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = json.loads(report.read_text(encoding="utf-8"))
    assert _count(summary, "failures") == 0, output
    assert _count(summary, "errors") == 0, output


def _count(summary: object, key: str) -> int:
    """How many entries the JSON report lists under ``key``, wherever it nests them."""
    if isinstance(summary, dict):
        found = summary.get(key)
        own = len(found) if isinstance(found, list | dict) else 0
        return own + sum(_count(v, key) for k, v in summary.items() if k != key)
    if isinstance(summary, list):
        return sum(_count(item, key) for item in summary)
    return 0
