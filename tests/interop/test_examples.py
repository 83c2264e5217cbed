"""The examples run: each CSMS with its charge point, in process and (1.6) as scripts."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAFETY = 20  # s, a safety net only


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("csms_name", "station_name", "identity"),
    [
        ("v16_central_system", "v16_charge_point", "CP_1"),
        ("v201_csms", "v201_charging_station", "CS_1"),
        ("v21_csms", "v21_charging_station", "CS_21"),
    ],
)
async def test_example_pair(csms_name: str, station_name: str, identity: str) -> None:
    csms, station = load(csms_name), load(station_name)
    async with asyncio.timeout(SAFETY), csms.create_server("127.0.0.1", 0) as server:
        result = await station.run(f"ws://127.0.0.1:{server.port}", identity)
        assert result.remote_started.is_set()
        peer = server.peers.get(identity)
        if peer is not None:  # the station may already have disconnected
            assert peer.remote_start_status == "Accepted"


def test_v16_examples_run_as_scripts() -> None:
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "v16_central_system.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("listening on ws://"), line
        url = line.split()[-1]
        station = subprocess.run(
            [sys.executable, str(EXAMPLES / "v16_charge_point.py"), "--url", url],
            capture_output=True,
            text=True,
            timeout=60,  # safety net only
        )
        assert station.returncode == 0, station.stderr
        assert "BootNotification: Accepted" in station.stdout
        assert "RemoteStartTransaction for TAG-0001" in station.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
