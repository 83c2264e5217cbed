"""Side-by-side benchmark: Kilowatt against the `ocpp`-package peer CSMS, same load, one run.

For each target in turn (Kilowatt, then the peer) the runner starts the server in its own
process on free ports (Kilowatt with its defaults in a fresh temporary data directory), waits
until its OCPP port accepts connections, lets it settle, drives it with the load generator
(`bench.loadgen`, same parameters for both), stops it, and finally prints a table with every
figure for both and the ratio Kilowatt/peer. All figures, the parameters, the git commit and
machine information are written to ``bench/results/<timestamp>-<mode>-<version>.json``.

Examples::

    .venv/bin/python -m bench.run --stations 200 --duration 30 --version 1.6
    .venv/bin/python -m bench.run --stations 200 --duration 30 --version 2.0.1
    .venv/bin/python -m bench.run --mode connections --stations 10000 --duration 20
    .venv/bin/python -m bench.run --only peer --stations 200 --duration 30

If Kilowatt cannot start, the runner says so (with the tail of its log) and still measures the
peer; ``--only peer`` skips Kilowatt altogether.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import loadgen

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGETS = ("kilowatt", "peer")


@dataclass
class Server:
    """A server process under test and where to reach it."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    log: Path
    workdir: Path


class StartError(RuntimeError):
    """The server under test could not be started."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def start_server(name: str, kilowatt_cmd: str, timeout: float) -> Server:
    """Start ``name`` ("kilowatt" or "peer") and wait until its OCPP port accepts connections.

    Raises StartError (with the tail of the server's log) when the process exits or the port
    does not open within ``timeout`` seconds; the caller reports it and moves on.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"kw-bench-{name}-"))
    log = workdir / "server.log"
    port = free_port()
    if name == "kilowatt":
        data_dir = workdir / "data"
        data_dir.mkdir()
        cmd = [
            kilowatt_cmd,
            "serve",
            "--host",
            "127.0.0.1",
            "--ocpp-port",
            str(port),
            "--http-port",
            str(free_port()),
            "--data-dir",
            str(data_dir),
        ]
    else:
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "peer_ocpp_csms.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    with open(log, "wb") as out:
        try:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        except OSError as exc:
            raise StartError(f"{name}: cannot run {' '.join(cmd)}: {exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise StartError(
                f"{name} exited with code {proc.returncode} before accepting connections; "
                f"command: {' '.join(cmd)}\n{_tail(log)}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                stop_server(Server(name, proc, "", port, log, workdir))
                raise StartError(
                    f"{name} did not accept connections on port {port} within {timeout:.0f} s; "
                    f"command: {' '.join(cmd)}\n{_tail(log)}"
                ) from None
            time.sleep(0.1)
    return Server(name, proc, f"ws://127.0.0.1:{port}/ocpp", port, log, workdir)


def stop_server(server: Server) -> int | None:
    """Stop the server gracefully (SIGTERM, then SIGKILL after 15 s); return its exit code."""
    proc = server.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def git_info() -> dict[str, Any]:
    """Return the current commit and whether the work tree has local changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def machine_info() -> dict[str, Any]:
    """Return CPU, memory, OS and Python facts, plus the load average (a noise indicator)."""
    cpu_model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
                break
    return {
        "cpu_model": cpu_model,
        "cpus": os.cpu_count(),
        "mem_total_mb": mem_kb // 1024,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
    }


def measure(
    name: str, cfg: loadgen.Config, kilowatt_cmd: str, start_timeout: float
) -> dict[str, Any]:
    """Start ``name``, run the load against it, stop it; return the result or the failure."""
    try:
        server = start_server(name, kilowatt_cmd, start_timeout)
    except StartError as exc:
        return {"status": "not started", "reason": str(exc)}
    try:
        time.sleep(1.0)  # let it finish start-up work before the idle RSS is read
        run_cfg = loadgen.Config(
            **{**cfg.__dict__, "url": server.url, "server_pid": server.proc.pid}
        )
        result = loadgen.run(run_cfg)
        result["status"] = "ok"
        if server.proc.poll() is not None:
            result["status"] = f"server exited with code {server.proc.returncode} during the run"
    except Exception as exc:  # report, keep going with the other target
        result = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    finally:
        code = stop_server(server)
    result["server_exit_code"] = code
    result["server_log_tail"] = _tail(server.log, 5)
    shutil.rmtree(server.workdir, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

Getter = Callable[[dict[str, Any]], Any]


def _get(*path: str) -> Getter:
    def getter(result: dict[str, Any]) -> Any:
        value: Any = result
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return getter


ROWS: dict[str, list[tuple[str, Getter]]] = {
    "mix": [
        ("stations booted", _get("booted")),
        ("connect + boot all (s)", _get("boot_all_s")),
        ("listen overflows (host)", _get("listen_overflows")),
        ("calls/s", _get("calls_per_s")),
        ("sessions completed", _get("sessions")),
        ("latency p50 (ms)", _get("latency_ms", "p50")),
        ("latency p90 (ms)", _get("latency_ms", "p90")),
        ("latency p99 (ms)", _get("latency_ms", "p99")),
        ("latency max (ms)", _get("latency_ms", "max")),
        ("errors (window)", _get("errors")),
        ("errors (whole run)", _get("errors_total")),
        ("server CPU per call (µs)", _get("cpu", "server_per_call_us")),
        ("server CPU (cores)", _get("cpu", "server_cores")),
        ("loadgen CPU (cores)", _get("cpu", "loadgen_cores")),
        ("loadgen CPU share", _get("cpu", "loadgen_share")),
        ("server RSS idle (KB)", _get("server_rss_kb", "idle")),
        ("server RSS after run (KB)", _get("server_rss_kb", "end")),
    ],
    "connections": [
        ("stations connected", _get("connected")),
        ("stations booted", _get("booted")),
        ("connect failures", _get("connect_failures")),
        ("boot failures", _get("boot_failures")),
        ("connect + boot all (s)", _get("boot_all_s")),
        ("listen overflows (host)", _get("listen_overflows")),
        ("heartbeat p50 (ms)", _get("latency_ms", "p50")),
        ("heartbeat p99 (ms)", _get("latency_ms", "p99")),
        ("heartbeats answered", _get("calls")),
        ("errors (whole run)", _get("errors_total")),
        ("alive at end", _get("alive_at_end")),
        ("server RSS idle (KB)", _get("server_rss_kb", "idle")),
        ("server RSS connected (KB)", _get("server_rss_kb", "connected")),
        ("RSS per station (KB)", _get("server_rss_kb", "per_station_kb")),
        ("server CPU (cores)", _get("cpu", "server_cores")),
        ("loadgen CPU (cores)", _get("cpu", "loadgen_cores")),
    ],
}


def ratio(a: Any, b: Any) -> float | None:
    """Return a/b rounded, or None when either is missing or b is zero."""
    if isinstance(a, int | float) and isinstance(b, int | float) and b:
        return round(a / b, 3)
    return None


def compare(mode: str, targets: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one row per figure: Kilowatt, peer, and the ratio Kilowatt/peer."""
    rows = []
    kw = targets.get("kilowatt", {})
    peer = targets.get("peer", {})
    for label, getter in ROWS[mode]:
        a = getter(kw) if kw.get("status") == "ok" else None
        b = getter(peer) if peer.get("status") == "ok" else None
        rows.append({"figure": label, "kilowatt": a, "peer": b, "ratio": ratio(a, b)})
    return rows


def check_targets(mode: str, kw: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the issue's targets (None when a figure is missing)."""
    ok = kw.get("status") == "ok"
    if mode == "mix":
        thr = ratio(_get("calls_per_s")(kw), _get("calls_per_s")(peer)) if ok else None
        p99 = ratio(_get("latency_ms", "p99")(kw), _get("latency_ms", "p99")(peer)) if ok else None
        return {
            "throughput_at_least_3x_peer": None if thr is None else thr >= 3.0,
            "p99_at_most_one_third_of_peer": None if p99 is None else p99 <= 1 / 3,
            "no_errors": None if not ok else kw.get("errors_total") == 0,
        }
    per_station = _get("server_rss_kb", "per_station_kb")(kw) if ok else None
    return {
        "all_booted_within_30s": None
        if not ok
        else kw["booted"] == kw["stations"] and kw["boot_all_s"] <= 30.0,
        "no_failures": None if not ok else kw["errors_total"] == 0,
        "rss_per_station_at_most_20kb": None if per_station is None else per_station <= 20.0,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_report(report: dict[str, Any]) -> None:
    """Print the side-by-side table (rich when available), failures and target checks."""
    params = report["params"]
    title = (
        f"{params['mode']} · OCPP {params['version']} · {params['stations']} stations · "
        f"{params['duration']:.0f} s window"
        + (f" after {params['warmup']:.0f} s warm-up" if params["mode"] == "mix" else "")
        + f" · loadavg at start {report['machine']['loadavg'][0]:.2f}"
    )
    rows = report["comparison"]
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for column, justify in (
            ("figure", "left"),
            ("Kilowatt", "right"),
            ("peer", "right"),
            ("Kilowatt/peer", "right"),
        ):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for row in rows:
            table.add_row(
                row["figure"], _fmt(row["kilowatt"]), _fmt(row["peer"]), _fmt(row["ratio"])
            )
        Console().print(table)
    except ImportError:  # pragma: no cover
        print(title)
        print(f"{'figure':32} {'Kilowatt':>14} {'peer':>14} {'Kilowatt/peer':>14}")
        for row in rows:
            print(
                f"{row['figure']:32} {_fmt(row['kilowatt']):>14} {_fmt(row['peer']):>14} "
                f"{_fmt(row['ratio']):>14}"
            )
    for name, result in report["targets"].items():
        if result.get("status") == "skipped":
            print(f"\n{name}: skipped ({result.get('reason')})")
        elif result.get("status") != "ok":
            print(f"\n{name.upper()} NOT MEASURED — {result.get('status')}: {result.get('reason')}")
        elif result.get("error_samples"):
            print(f"\n{name}: first errors: " + "; ".join(result["error_samples"][:3]))
    print("\ntargets:", json.dumps(report["checks"]))
    print(f"results written to {report['path']}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Kilowatt vs the ocpp-package peer, side by side"
    )
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0, help="measured window (s)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up before the window (s)")
    parser.add_argument("--version", choices=sorted(loadgen.VERSIONS), default="1.6")
    parser.add_argument("--mode", choices=["mix", "connections"], default="mix")
    parser.add_argument("--only", choices=TARGETS, help="measure one target only")
    parser.add_argument("--processes", type=int, default=1, help="load generator processes")
    parser.add_argument("--heartbeat-interval", type=float, default=5.0, help="connections mode")
    parser.add_argument("--connect-concurrency", type=int, default=256)
    parser.add_argument(
        "--source-ips",
        type=int,
        default=0,
        help="source addresses 127.0.0.2.. to spread connections over (0: auto)",
    )
    parser.add_argument("--kilowatt-cmd", default=str(ROOT / ".venv" / "bin" / "kilowatt"))
    parser.add_argument("--start-timeout", type=float, default=60.0)
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args(argv)

    loadgen.raise_fd_limit()  # inherited by the servers we start
    source_ips = args.source_ips or (
        1 if args.stations <= 4000 else math.ceil(args.stations / 4000)
    )
    cfg = loadgen.Config(
        version=args.version,
        mode=args.mode,
        stations=args.stations,
        duration=args.duration,
        warmup=args.warmup,
        processes=args.processes,
        heartbeat_interval=args.heartbeat_interval,
        connect_concurrency=args.connect_concurrency,
        source_ips=source_ips,
    )
    machine = machine_info()
    started = datetime.now(UTC)
    targets: dict[str, dict[str, Any]] = {}
    for name in TARGETS:
        if args.only and name != args.only:
            targets[name] = {"status": "skipped", "reason": f"--only {args.only}"}
            continue
        print(f"measuring {name} …", flush=True)
        targets[name] = measure(name, cfg, args.kilowatt_cmd, args.start_timeout)
        if targets[name].get("status") == "ok":
            print(loadgen.summary(targets[name]), flush=True)
        else:
            print(f"{name}: {targets[name].get('status')}: {targets[name].get('reason')}")
    machine["loadavg_end"] = os.getloadavg()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{stamp}-{args.mode}-{args.version}.json"
    params = {k: v for k, v in cfg.__dict__.items() if k not in ("url", "server_pid", "run_id")}
    report: dict[str, Any] = {
        "started": started.isoformat(),
        "command": "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "params": params,
        "git": git_info(),
        "machine": machine,
        "targets": targets,
        "comparison": compare(args.mode, targets),
        "checks": check_targets(args.mode, targets.get("kilowatt", {}), targets.get("peer", {})),
        "path": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
    }
    path.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    measured = [t for t in targets.values() if t.get("status") != "skipped"]
    return 0 if all(t.get("status") == "ok" for t in measured) else 1


if __name__ == "__main__":
    sys.exit(main())
