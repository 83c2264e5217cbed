"""``kilowatt simulate`` run as a user runs it: the real command in a subprocess, real sockets.

Assertions are on our own texts and exit statuses, never on a third-party library's wording
(issue 10); no wall-clock limits (``SAFETY`` only stops a hung test).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kilowatt.ocpp.version import OcppVersion
from tests.e2e.support import KILOWATT, SAFETY, KilowattServer, free_port
from tests.simulator.csms import run_csms
from tests.simulator.test_integration import tx_ends, tx_starts


def simulate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``kilowatt simulate ARGS`` to its end."""
    return subprocess.run(
        [str(KILOWATT), "simulate", *args],
        capture_output=True,
        text=True,
        timeout=SAFETY,
        check=False,
        env=env,
    )


# --- failing loudly -----------------------------------------------------------------------


def test_closed_port_exits_1_with_the_reason() -> None:
    """The acceptance test of issue 10: nothing listens, the command says so and fails."""
    port = free_port()  # bound, then closed: nothing listens there
    result = simulate(f"ws://127.0.0.1:{port}/ocpp", "--duration", "2")
    assert result.returncode == 1, result.stderr
    url = f"ws://127.0.0.1:{port}/ocpp/SIM0001"
    assert f"error: cannot connect to {url}: connection refused" in result.stderr
    assert f"warning: cannot connect to {url}: connection refused; retrying" in result.stderr


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:9000/ocpp", "error: URL must start with ws:// or wss://"),
        ("ws//127.0.0.1:9000/ocpp", "error: URL must start with ws:// or wss://"),
        ("ws:/127.0.0.1:9000/ocpp", "error: URL has no host name"),
    ],
)
def test_wrong_url_exits_2_at_once(url: str, words: str) -> None:
    """A URL no retry can mend is refused before any station starts (no --duration: a run
    would never end by itself)."""
    result = simulate(url)
    assert result.returncode == 2
    assert words in result.stderr


def test_ca_file_with_ws_exits_2(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("unused\n")
    result = simulate("ws://127.0.0.1:9000/ocpp", "--ca-file", str(ca))
    assert result.returncode == 2
    assert "error: a CA file only applies to a wss:// URL" in result.stderr


def test_untrusted_certificate_then_ca_file(tmp_path: Path) -> None:
    """The self-signed ``wss://`` setup of docs/howto/security.md: without --ca-file the
    certificate is not trusted (exit 1, said so); with it the station connects and charges."""
    server = KilowattServer(
        data_dir=tmp_path, database_url=None, tls=True, extra_args=["--accept-unknown-id-tokens"]
    )
    server.start()
    try:
        url = f"wss://127.0.0.1:{server.ocpp_port}/ocpp"
        refused = simulate(url, "--duration", "2", "--prefix", "UNTRUSTED", "--json")
        trusted = simulate(
            url, "--ca-file", str(server.tls_cert), "--duration", "3", "--time-scale", "100",
            "--prefix", "TRUSTED", "--json",
        )  # fmt: skip
    finally:
        server.stop()
    assert refused.returncode == 1, refused.stderr
    assert (
        f"error: cannot connect to {url}/UNTRUSTED0001: the CSMS's TLS certificate is not trusted"
        in refused.stderr
    )
    assert "--ca-file" in refused.stderr
    assert json.loads(refused.stdout)["never_connected"] == 1
    assert trusted.returncode == 0, trusted.stderr
    summary = json.loads(trusted.stdout)
    assert summary["connected"] == 1 and summary["never_connected"] == 0, summary
    assert summary["sessions_completed"] >= 1, summary


# --- ending a run ---------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_signal_stops_the_sessions_before_exit(
    signum: signal.Signals, tmp_path: Path
) -> None:
    """Ctrl-C or SIGTERM ends a run without --duration gracefully: the running session is
    stopped (StopTransaction reason Other) and delivered, then the command exits 0."""
    scenario = tmp_path / "long.toml"
    scenario.write_text(
        'version = "1.6"\nstations = 1\nevses = 1\nseed = 1\n'
        "[sessions]\nfirst_delay_s = [0, 0]\nduration_s = [36000, 36000]\n"
    )
    async with run_csms(OcppVersion.V16) as (csms, url):
        process = await asyncio.create_subprocess_exec(
            str(KILOWATT), "simulate", url, "--scenario", str(scenario), "--json",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            await csms.wait(lambda: bool(tx_starts(csms, "SIM0001", "1.6")), timeout=SAFETY)
            # StartTransaction answered: the station knows its transaction id.
            await csms.wait(lambda: len(csms.actions("SIM0001")) > 4, timeout=SAFETY)
            process.send_signal(signum)
            async with asyncio.timeout(SAFETY):
                stdout, stderr = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        ends = [m.payload for m in tx_ends(csms, "SIM0001", "1.6")]
    assert process.returncode == 0, stderr.decode()
    assert [end["reason"] for end in ends] == ["Other"]
    summary = json.loads(stdout)
    assert summary["stopped_at_end"] == 1 and summary["sessions_active"] == 0, summary


# --- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [[str(KILOWATT), "simulate"], [sys.executable, "-m", "kilowatt.simulator"]],
    ids=["kilowatt simulate", "python -m kilowatt.simulator"],
)
def test_help_shows_defaults_and_the_clock(command: list[str]) -> None:
    """The help wraps (never cuts with "…") when it is not written to a terminal, and shows
    each option's default and which clock the stations report."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    result = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=SAFETY, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    text = " ".join(result.stdout.split())  # wrapped lines: compare words
    for option, default in [
        ("--stations", "[default: 1]"),
        ("--version", "[default: 1.6]"),
        ("--duration", "[default: until Ctrl-C]"),
        ("--time-scale", "[default: 1]"),
        ("--ca-file", "[default: the system's trust store]"),
        ("--prefix", "[default: SIM]"),
    ]:
        assert option in text and default in text, (option, default)
    assert "timestamps sent to the CSMS stay real wall-clock time" in text
