"""Smoke tests of the benchmark harness: frame templates against the official schemas, and a
few seconds of load against the peer CSMS (no timing assertions)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import ocpp
import pytest

from bench import loadgen

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(ocpp.__file__).parent


def _schema(version: str, action: str) -> dict[str, object]:
    if version == "1.6":
        path = SCHEMAS / "v16" / "schemas" / f"{action}.json"
    else:
        path = SCHEMAS / "v201" / "schemas" / f"{action}Request.json"
    schema: dict[str, object] = json.loads(path.read_text())
    return schema


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_frame_templates_are_schema_valid(version: str) -> None:
    frames = loadgen.sample_frames(version)
    # boot + one full session
    assert len(frames) == 1 + loadgen.SESSION_CALLS
    for action, payload in frames:
        message = json.loads(payload)
        assert message[0] == 2
        assert isinstance(message[1], str) and len(message[1]) <= 36
        schema = _schema(version, action)
        validator_cls = jsonschema.validators.validator_for(schema)
        validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
        errors = list(validator.iter_errors(message[3]))
        assert not errors, (action, [e.message for e in errors])


def test_ws_frame_lengths() -> None:
    for n in (0, 125, 126, 65535, 65536):
        frame = loadgen.ws_frame(b"x" * n)
        assert frame[0] == 0x81 and frame[1] & 0x80
        assert loadgen._unframe(frame) == b"x" * n


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def peer() -> Iterator[tuple[int, int]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.peer_ocpp_csms", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("peer CSMS did not start")
            time.sleep(0.1)
    yield port, proc.pid
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_mix_against_peer(peer: tuple[int, int], version: str) -> None:
    port, pid = peer
    cfg = loadgen.Config(
        url=f"ws://127.0.0.1:{port}/ocpp",
        version=version,
        stations=4,
        duration=2.0,
        warmup=0.5,
        server_pid=pid,
        id_prefix=f"SMOKE{version.replace('.', '')}-",
        settle=0.1,
    )
    result = loadgen.run(cfg)
    assert result["booted"] == 4
    assert result["calls"] > 0
    assert result["errors"] == 0 and result["errors_total"] == 0, result["error_samples"]
    assert result["unexpected_frames"] == 0
    for key in ("p50", "p90", "p99", "max"):
        assert result["latency_ms"][key] >= 0
    assert set(result["latency_ms_by_action"]) <= set(loadgen.LABELS[version])
    assert result["cpu"]["loadgen_s"] >= 0 and result["cpu"]["server_s"] is not None
    assert result["server_rss_kb"]["idle"] > 0
    json.dumps(result)  # JSON-able


def test_connections_against_peer(peer: tuple[int, int]) -> None:
    port, pid = peer
    cfg = loadgen.Config(
        url=f"ws://127.0.0.1:{port}/ocpp",
        mode="connections",
        stations=6,
        duration=1.5,
        heartbeat_interval=0.5,
        processes=2,
        server_pid=pid,
        id_prefix="SMOKECONN-",
        settle=0.1,
    )
    result = loadgen.run(cfg)
    assert result["connected"] == result["booted"] == 6
    assert result["connect_failures"] == 0 and result["errors_total"] == 0
    assert result["latency_ms_by_action"]["Heartbeat"]["count"] > 0
    assert result["server_rss_kb"]["per_station_kb"] is not None


def test_runner_reports_kilowatt_failure_and_measures_peer(tmp_path: Path) -> None:
    from bench import run

    code = run.main(
        [
            "--stations",
            "3",
            "--duration",
            "1",
            "--warmup",
            "0.5",
            "--kilowatt-cmd",
            "/bin/false",
            "--out-dir",
            str(tmp_path),
        ]
    )
    assert code == 1  # Kilowatt could not start
    (path,) = tmp_path.glob("*-mix-1.6.json")
    report = json.loads(path.read_text())
    assert report["targets"]["kilowatt"]["status"] == "not started"
    assert report["targets"]["peer"]["status"] == "ok"
    assert report["targets"]["peer"]["errors_total"] == 0
    rows = {row["figure"]: row for row in report["comparison"]}
    assert rows["calls/s"]["peer"] > 0 and rows["calls/s"]["ratio"] is None
    assert report["git"]["commit"] and report["machine"]["cpus"]
