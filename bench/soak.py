"""Soak: hours-long mixed load against ``kilowatt serve``, sampling memory and disk as it goes.

The soak answers one question: under sustained load, do the server's resident memory and its
database files reach a plateau, or do they keep growing? (Issue 12, acceptance: "a soak in
bench/ shows RSS and the database files reaching a plateau".) It does not measure throughput:
calls/s and p99 latency are sampled only to show that the load held up for the whole run.

What it does:

1. starts ``kilowatt serve`` as a subprocess with the settings of a production start (SQLite in
   a fresh temporary data directory, journal retention and checkpointing at their defaults),
   except ``KILOWATT_TRIAL=1`` so that the bench stations may connect and charge
   (``--no-trial`` keeps open registration and rejects the unknown id tag instead);
2. connects and boots ``--stations`` stations split over the ``--versions`` (default half
   OCPP 1.6, half 2.0.1, one load-generator process per version), each running the charging
   session loop of ``bench.loadgen``'s mix mode (17 calls per session, one outstanding call
   per station) for ``--duration`` seconds;
3. every ``--interval`` seconds samples the server's RSS (``VmRSS`` of the process tree, KB),
   its CPU use, the size in bytes of every database file in the data directory
   (``kilowatt.db``, ``-wal``, ``-shm``, ``kilowatt.journal.db`` and its ``-wal``/``-shm``),
   and the calls answered, calls/s, p50/p99/max latency (ms) and errors in that interval;
4. stops the load and the server, records the file sizes after shutdown, decides per series
   whether it plateaus (see :func:`plateau`), prints the verdicts and writes
   ``bench/results/<timestamp>-soak.csv`` (one row per sample, written as the run goes) and
   ``<timestamp>-soak.json`` (parameters, machine, commit, samples, verdicts).

Draw the curve with ``python -m bench.plot <results>.json <out>.svg``.

Examples::

    .venv/bin/python -m bench.soak                        # 200 stations, 30 min, sample every 10 s
    .venv/bin/python -m bench.soak --duration 120 --interval 5
    KILOWATT_SOAK=1 .ci/run                               # the optional CI step (30 min)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
from array import array
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import loadgen, run

ROOT = run.ROOT
RESULTS = run.RESULTS

DB_FILES = (
    "kilowatt.db",
    "kilowatt.db-wal",
    "kilowatt.db-shm",
    "kilowatt.journal.db",
    "kilowatt.journal.db-wal",
    "kilowatt.journal.db-shm",
)
"""The database files sampled, in the data directory (absent files count as 0 bytes)."""

PLATEAU_RATIO = 0.25
"""A series plateaus when its last third grows by at most this fraction of its first third…"""

PLATEAU_NOISE = 0.02
"""…or by at most this fraction of its peak value (a flat series is a plateau too)."""

ID_PREFIXES = {"1.6": "SOAK16_", "2.0.1": "SOAK201_"}
"""Station identity prefix per OCPP version, so that the two mixes never share an identity."""


# ---------------------------------------------------------------------------------------------
# The verdict
# ---------------------------------------------------------------------------------------------


def plateau(times: list[float], values: list[float]) -> dict[str, Any]:
    """Decide whether a sampled series reaches a plateau.

    The run is cut into thirds by time. The growth of a third is how much the running maximum
    of the series (the highest value seen so far) rises across it, so a bounded oscillation
    (a WAL that a checkpoint truncates, RSS that a garbage collection lowers) counts as
    bounded, while any new high counts as growth. The series *plateaus* when the growth of
    the last third is at most ``PLATEAU_RATIO`` (25 %) of the growth of the first third, or
    at most ``PLATEAU_NOISE`` (2 %) of the series' peak; it *grows* otherwise. A series that is
    0 throughout (a file that never existed) is *absent*.

    Args:
        times: sample times in s since the load started, ascending; at least 3 samples.
        values: the sampled values (any unit: KB of RSS, bytes of a file), same length.

    Returns:
        ``{"verdict": "plateau" | "grows" | "absent", "first_third_growth",
        "last_third_growth", "ratio", "peak", "start", "end"}``; growths and values are in the
        unit of ``values``, ``ratio`` is last/first (None when the first third did not grow).

    Raises:
        ValueError: fewer than 3 samples, or ``times`` and ``values`` of different lengths.
    """
    if len(times) != len(values):
        raise ValueError("times and values must have the same length")
    if len(times) < 3:
        raise ValueError("at least 3 samples are needed to compare thirds")
    t0, t1 = times[0], times[-1]
    third = (t1 - t0) / 3
    running = list(itertools.accumulate(values, max))
    end_first = max(i for i, t in enumerate(times) if t <= t0 + third)
    before_last = max(i for i, t in enumerate(times) if t <= t1 - third)
    growth_first = running[end_first] - running[0]
    growth_last = running[-1] - running[before_last]
    peak = max(values)
    if peak == 0 and min(values) == 0:
        verdict = "absent"
    elif growth_last <= max(PLATEAU_RATIO * growth_first, PLATEAU_NOISE * peak):
        verdict = "plateau"
    else:
        verdict = "grows"
    return {
        "verdict": verdict,
        "first_third_growth": round(growth_first, 1),
        "last_third_growth": round(growth_last, 1),
        "ratio": round(growth_last / growth_first, 3) if growth_first > 0 else None,
        "peak": peak,
        "start": values[0],
        "end": values[-1],
    }


# ---------------------------------------------------------------------------------------------
# Load: one worker process per OCPP version, driven by the controller's sample requests
# ---------------------------------------------------------------------------------------------


@dataclass
class Interval:
    """What one worker saw between two samples."""

    calls: int = 0
    sessions: int = 0
    errors: int = 0
    latency: bytes = b""
    """The latencies (ms) of the calls answered in the interval, as a packed ``array("d")``."""


async def _soak_worker(cfg: loadgen.Config, indices: list[int], conn: Any) -> dict[str, Any]:
    """Boot ``indices``, run the mix until told to stop, answer each sample request."""
    loop = asyncio.get_running_loop()
    sh = loadgen.Shared(cfg, loop)
    sh.boot_target = len(indices)
    sh.tick()
    sem = asyncio.Semaphore(cfg.connect_concurrency)
    opens = [loop.create_task(loadgen._open_station(sh, i, sem)) for i in indices]
    await asyncio.gather(*opens)
    await sh.all_booted
    live = [s for s in sh.stations if s.state == loadgen._OPEN and s.accepted]
    _send(conn, ("booted", {"booted": len(live), "errors": sh.stats.error_samples[:3]}))
    stats = sh.stats
    # The whole run is one open-ended window; the sample requests cut it into intervals.
    stats.window_start = 0.0
    stats.window_end = math.inf
    stats.stop_at = math.inf
    for station in live:
        station.send_step()
    labels = len(loadgen.LABELS[cfg.version])
    seen = loadgen.Counters()
    while True:
        kind = (await loadgen._wait_pipe(loop, conn))[0]
        if kind != "sample":
            break
        latencies, stats.latency = stats.latency, [array("d") for _ in range(labels)]
        c = stats.counters
        merged: array[float] = array("d")
        for lat in latencies:
            merged.extend(lat)
        errors = c.callerrors + c.timeouts + c.disconnects
        interval = Interval(
            calls=c.calls_total - seen.calls_total,
            sessions=c.sessions_window - seen.sessions_window,
            errors=errors - (seen.callerrors + seen.timeouts + seen.disconnects),
            latency=merged.tobytes(),
        )
        seen = loadgen.Counters(**asdict(c))
        _send(conn, ("sample", interval))
    stats.stop_at = time.perf_counter()
    sh.maybe_drained()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(sh.drained), cfg.drain + cfg.call_timeout)
    alive = sum(1 for s in sh.stations if s.state == loadgen._OPEN)
    sh.closing = True
    for station in sh.stations:
        station.close()
    waiters = [s.closed_waiter for s in sh.stations]
    if waiters:
        await asyncio.wait(waiters, timeout=5.0)
    return {
        "alive_at_end": alive,
        "counters": asdict(stats.counters),
        "error_samples": stats.error_samples,
    }


def _send(conn: Any, message: object) -> None:
    # The event loop leaves the pipe non-blocking; an interval's latencies can exceed the pipe
    # buffer, and the controller is already waiting to read them.
    os.set_blocking(conn.fileno(), True)
    conn.send(message)


def _worker_main(cfg: loadgen.Config, indices: list[int], conn: Any) -> None:
    loadgen.raise_fd_limit()
    try:
        with asyncio.Runner(loop_factory=loadgen._loop_factory) as runner:
            result = runner.run(_soak_worker(cfg, indices, conn))
        _send(conn, ("done", result))
    except BaseException as exc:  # report, then die
        _send(conn, ("failed", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Sampling the server
# ---------------------------------------------------------------------------------------------


def file_sizes(data_dir: Path) -> dict[str, int]:
    """Return the size in bytes of each of ``DB_FILES`` in ``data_dir`` (0 when absent)."""
    sizes = {}
    for name in DB_FILES:
        try:
            sizes[name] = (data_dir / name).stat().st_size
        except FileNotFoundError:
            sizes[name] = 0
    return sizes


def rss_split_kb(pid: int) -> tuple[int | None, int | None]:
    """Return ``(RssAnon, RssFile)`` of ``pid`` in KB, from ``/proc/<pid>/status``.

    Anonymous memory is the heap (Python objects, SQLite's page cache); file-backed memory is
    mapped code and files. A growing RSS whose growth is anonymous points at the process's own
    data, not at memory-mapped database files. ``(None, None)`` when unreadable.
    """
    anon = file = None
    with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                anon = int(line.split()[1])
            elif line.startswith("RssFile:"):
                file = int(line.split()[1])
    return anon, file


CSV_FIELDS = (
    "t_s",
    "rss_kb",
    "rss_anon_kb",
    "rss_file_kb",
    "server_cores",
    "calls",
    "calls_per_s",
    "sessions",
    "errors",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "loadavg_1m",
    *DB_FILES,
    "db_total_bytes",
)
"""Columns of the CSV, one row per sample; the file columns are sizes in bytes."""


@dataclass
class Params:
    """The soak's parameters (see ``python -m bench.soak --help``)."""

    stations: int = 200
    duration: float = 1800.0
    interval: float = 10.0
    versions: tuple[str, ...] = ("1.6", "2.0.1")
    trial: bool = True
    kilowatt_cmd: str = str(ROOT / ".venv" / "bin" / "kilowatt")
    start_timeout: float = 60.0
    out_dir: str = str(RESULTS)
    src: str | None = None
    """A directory holding the ``kilowatt`` package (e.g. a ``git archive`` of one commit's
    ``src``) that the server imports instead of the working tree's (via ``PYTHONPATH``)."""


def _sample(
    t: float,
    pid: int,
    data_dir: Path,
    intervals: list[Interval],
    cpu: tuple[float, float],
    span: float,
) -> dict[str, Any]:
    latency: array[float] = array("d")
    for interval in intervals:
        latency.frombytes(interval.latency)
    pct = loadgen.percentiles(latency)
    calls = sum(i.calls for i in intervals)
    sizes = file_sizes(data_dir)
    anon, file = rss_split_kb(pid)
    return {
        "t_s": round(t, 1),
        "rss_kb": loadgen.server_rss_kb(pid),
        "rss_anon_kb": anon,
        "rss_file_kb": file,
        "server_cores": round((cpu[1] - cpu[0]) / span, 3) if span > 0 else None,
        "calls": calls,
        "calls_per_s": round(calls / span, 1) if span > 0 else None,
        "sessions": sum(i.sessions for i in intervals),
        "errors": sum(i.errors for i in intervals),
        "p50_ms": pct.get("p50"),
        "p99_ms": pct.get("p99"),
        "max_ms": pct.get("max"),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        **sizes,
        "db_total_bytes": sum(sizes.values()),
    }


def _print_sample(row: dict[str, Any]) -> None:
    mb = 1024 * 1024
    print(
        f"t={row['t_s']:7.0f} s  RSS {row['rss_kb'] / 1024:7.1f} MB  "
        f"db {row['kilowatt.db'] / mb:7.1f} MB  wal {row['kilowatt.db-wal'] / mb:7.1f} MB  "
        f"journal {row['kilowatt.journal.db'] / mb:7.1f} MB "
        f"(wal {row['kilowatt.journal.db-wal'] / mb:6.1f})  "
        f"{row['calls_per_s'] or 0:7.1f} calls/s  p99 {row['p99_ms'] or 0:7.2f} ms  "
        f"errors {row['errors']}  load {row['loadavg_1m']}",
        flush=True,
    )


def soak(params: Params) -> dict[str, Any]:
    """Run one soak (blocking) and return its report; see the module docstring.

    Args:
        params: stations, duration and interval (s), versions, and where to write results.

    Returns:
        The report that is also written as JSON: ``params``, ``git``, ``machine``,
        ``samples`` (the CSV rows as dicts), ``after_shutdown`` (file sizes in bytes),
        ``verdicts`` (per series, see :func:`plateau`), ``load`` (per version: booted,
        alive at end, error counters) and ``paths``.

    Raises:
        run.StartError: the server did not start.
        RuntimeError: a load-generator worker failed or no station booted.
    """
    if params.trial:
        os.environ["KILOWATT_TRIAL"] = "1"  # inherited by the server process only
    if params.src:
        # The working tree is shared with engineers mid-change; a soak measures one commit.
        os.environ["PYTHONPATH"] = str(Path(params.src).resolve())
    loadgen.raise_fd_limit()
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(params.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{stamp}-soak.csv"
    json_path = out_dir / f"{stamp}-soak.json"
    machine = run.machine_info()
    git = run.git_info()  # at the start: others may commit while a long soak runs
    server = run.start_server("kilowatt", params.kilowatt_cmd, params.start_timeout)
    data_dir = server.workdir / "data"
    pid = server.proc.pid
    ctx = multiprocessing.get_context("fork")
    workers: list[tuple[str, Any, Any]] = []
    samples: list[dict[str, Any]] = []
    load: dict[str, Any] = {}
    try:
        time.sleep(1.0)  # let start-up work finish before the first sample
        run_id = os.urandom(3).hex()
        for n, version in enumerate(params.versions):
            indices = list(range(n, params.stations, len(params.versions)))
            cfg = loadgen.Config(
                url=server.url,
                version=version,
                mode="mix",
                stations=params.stations,
                id_prefix=ID_PREFIXES[version],
                run_id=run_id,
            )
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(cfg, indices, child), daemon=True)
            proc.start()
            child.close()
            workers.append((version, proc, parent))
        boot_deadline = time.time() + 60 + params.stations / 50
        for version, _, conn in workers:
            booted = loadgen._recv(conn, boot_deadline, "boot")[1]
            load[version] = {"booted": booted["booted"], "boot_errors": booted["errors"]}
        if not any(v["booted"] for v in load.values()):
            raise RuntimeError(f"no station booted: {load}")
        print(
            f"soak: {params.stations} stations ({', '.join(params.versions)}) booted; "
            f"{params.duration:.0f} s, a sample every {params.interval:.0f} s; "
            f"data in {data_dir}; writing {csv_path}",
            flush=True,
        )
        with open(csv_path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            writer.writeheader()
            t_start = time.monotonic()
            cpu_prev = loadgen.server_cpu_s(pid)
            row = _sample(0.0, pid, data_dir, [], (cpu_prev, cpu_prev), 0.0)
            samples.append(row)
            writer.writerow(row)
            t_prev = 0.0
            tick = 1
            while t_prev < params.duration:
                t_next = min(tick * params.interval, params.duration)
                time.sleep(max(0.0, t_start + t_next - time.monotonic()))
                for _, _, conn in workers:
                    _send_request(conn, "sample")
                t = time.monotonic() - t_start
                cpu = loadgen.server_cpu_s(pid)
                deadline = time.time() + 60
                intervals = [loadgen._recv(conn, deadline, "a sample")[1] for *_, conn in workers]
                row = _sample(t, pid, data_dir, intervals, (cpu_prev, cpu), t - t_prev)
                samples.append(row)
                writer.writerow(row)
                fh.flush()
                _print_sample(row)
                cpu_prev, t_prev, tick = cpu, t, tick + 1
                if server.proc.poll() is not None:
                    raise RuntimeError(f"server exited with code {server.proc.returncode}")
        for _, _, conn in workers:
            _send_request(conn, "stop")
        deadline = time.time() + 90
        for version, _, conn in workers:
            done = loadgen._recv(conn, deadline, "its results")[1]
            load[version].update(
                alive_at_end=done["alive_at_end"],
                counters=done["counters"],
                error_samples=done["error_samples"][:5],
            )
    finally:
        for _, proc, conn in workers:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
            conn.close()
        exit_code = run.stop_server(server)
        after_shutdown = file_sizes(data_dir)
        log_tail = run._tail(server.log, 10)
        shutil.rmtree(server.workdir, ignore_errors=True)
    machine["loadavg_end"] = os.getloadavg()
    times = [s["t_s"] for s in samples]
    verdicts = (
        {
            key: plateau(times, [float(s[key]) for s in samples])
            for key in ("rss_kb", *DB_FILES, "db_total_bytes")
        }
        if len(samples) >= 3
        else {}
    )
    report: dict[str, Any] = {
        "started": started.isoformat(),
        "command": "python -m bench.soak " + " ".join(sys.argv[1:]),
        "params": {**asdict(params), "versions": list(params.versions)},
        "criterion": (
            f"plateau: growth of the last third <= {PLATEAU_RATIO:g} x growth of the first "
            f"third, or <= {PLATEAU_NOISE:g} x peak (growth = rise of the running maximum)"
        ),
        "git": git,
        "server_src": str(Path(params.src).resolve()) if params.src else None,
        "machine": machine,
        "server_exit_code": exit_code,
        "server_log_tail": log_tail,
        "load": load,
        "samples": samples,
        "after_shutdown": after_shutdown,
        "verdicts": verdicts,
        "paths": {
            "csv": _rel(csv_path),
            "json": _rel(json_path),
        },
    }
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _send_request(conn: Any, kind: str) -> None:
    conn.send((kind,))


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def _human(key: str, value: float) -> str:
    if key == "rss_kb":
        return f"{value / 1024:.1f} MB"
    return f"{value / (1024 * 1024):.1f} MB"


MILESTONES_MIN = (1, 5, 10, 20, 30)
"""Minutes after the load started at which the summary tabulates the samples."""


def _nearest(samples: list[dict[str, Any]], t: float) -> dict[str, Any]:
    best = samples[0]
    for sample in samples:
        if abs(sample["t_s"] - t) < abs(best["t_s"] - t):
            best = sample
    return best


def milestone_table(report: dict[str, Any]) -> list[str]:
    """Return a Markdown table of RSS, file sizes (MB) and load at ``MILESTONES_MIN``.

    Each row is the sample nearest to the milestone (its real time in the first column);
    milestones after the end of the run are left out, the last sample is always included.

    Args:
        report: a soak report (see :func:`soak`).

    Returns:
        The table's lines.
    """
    samples = report["samples"]
    end = samples[-1]["t_s"]
    wanted = [m * 60.0 for m in MILESTONES_MIN if m * 60.0 < end - report["params"]["interval"]]
    rows = [_nearest(samples, w) for w in wanted]
    rows.append(samples[-1])
    head = "| t (min) | RSS (MB) | " + " | ".join(f"{n} (MB)" for n in DB_FILES)
    lines = [head + " | calls/s | p99 (ms) |", "|" + "---|" * (len(DB_FILES) + 4)]
    mb = 1024 * 1024
    for s in rows:
        files = " | ".join(f"{s[name] / mb:.1f}" for name in DB_FILES)
        lines.append(
            f"| {s['t_s'] / 60:.1f} | {s['rss_kb'] / 1024:.1f} | {files} | "
            f"{s['calls_per_s'] or 0:.0f} | {s['p99_ms'] or 0:.1f} |"
        )
    return lines


def print_summary(report: dict[str, Any]) -> None:
    """Print the load figures, each series' verdict with its numbers, and the result paths."""
    samples = report["samples"][1:]
    if samples:
        rates = [s["calls_per_s"] for s in samples if s["calls_per_s"] is not None]
        p99s = [s["p99_ms"] for s in samples if s["p99_ms"] is not None]
        print(
            f"\nload: {sum(s['calls'] for s in samples):,} calls, "
            f"{sum(s['sessions'] for s in samples):,} sessions, "
            f"{sum(s['errors'] for s in samples)} errors; calls/s per interval "
            f"min {min(rates, default=0):.0f} max {max(rates, default=0):.0f}; "
            f"p99 per interval min {min(p99s, default=0):.1f} max {max(p99s, default=0):.1f} ms"
        )
    for version, figures in report["load"].items():
        print(
            f"  {version}: booted {figures.get('booted')}, alive at end "
            f"{figures.get('alive_at_end')}"
        )
    print("\n" + "\n".join(milestone_table(report)))
    print(f"\nverdicts ({report['criterion']}):")
    for key, v in report["verdicts"].items():
        print(
            f"  {key:26} {v['verdict'].upper():8} start {_human(key, v['start']):>10}  "
            f"end {_human(key, v['end']):>10}  peak {_human(key, v['peak']):>10}  "
            f"growth first third {_human(key, v['first_third_growth']):>10}, "
            f"last third {_human(key, v['last_third_growth']):>10}"
        )
    sizes = ", ".join(f"{k} {_human(k, v)}" for k, v in report["after_shutdown"].items())
    print(f"\nafter shutdown (exit code {report['server_exit_code']}): {sizes}")
    print(f"results: {report['paths']['csv']}, {report['paths']['json']}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Returns:
        0 when the run completed without load errors, the server exited cleanly and every
        series named by ``--require-plateau`` plateaus; 1 otherwise; 2 for bad arguments.
    """
    defaults = Params()
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description="Sustained mixed load against kilowatt serve; RSS and database file sizes",
    )
    parser.add_argument("--stations", type=int, default=defaults.stations)
    parser.add_argument("--duration", type=float, default=defaults.duration, help="s")
    parser.add_argument("--interval", type=float, default=defaults.interval, help="s")
    parser.add_argument(
        "--versions",
        default=",".join(defaults.versions),
        help="OCPP versions, comma-separated; the stations are split evenly",
    )
    parser.add_argument(
        "--no-trial",
        dest="trial",
        action="store_false",
        help="do not set KILOWATT_TRIAL=1 (the bench id tag is then rejected)",
    )
    parser.add_argument(
        "--require-plateau",
        default="",
        metavar="SERIES,...",
        help="exit 1 unless these series plateau (e.g. rss_kb,kilowatt.db-wal)",
    )
    parser.add_argument("--kilowatt-cmd", default=defaults.kilowatt_cmd)
    parser.add_argument("--start-timeout", type=float, default=defaults.start_timeout)
    parser.add_argument("--out-dir", default=defaults.out_dir)
    parser.add_argument(
        "--src",
        help="directory with the kilowatt package the server imports (default: the working tree)",
    )
    args = parser.parse_args(argv)
    versions = tuple(v.strip() for v in args.versions.split(",") if v.strip())
    unknown = [v for v in versions if v not in loadgen.VERSIONS]
    if unknown or not versions:
        parser.error(f"--versions: choose from {', '.join(sorted(loadgen.VERSIONS))}")
    required = [k.strip() for k in args.require_plateau.split(",") if k.strip()]
    series = ("rss_kb", *DB_FILES, "db_total_bytes")
    if any(k not in series for k in required):
        parser.error(f"--require-plateau: choose from {', '.join(series)}")
    if args.stations < len(versions) or args.interval <= 0 or args.duration < 3 * args.interval:
        parser.error("need at least one station per version and duration >= 3 x interval")
    params = Params(
        stations=args.stations,
        duration=args.duration,
        interval=args.interval,
        versions=versions,
        trial=args.trial,
        kilowatt_cmd=args.kilowatt_cmd,
        start_timeout=args.start_timeout,
        out_dir=args.out_dir,
        src=args.src,
    )
    try:
        report = soak(params)
    except run.StartError as exc:
        print(f"kilowatt did not start: {exc}", file=sys.stderr)
        return 1
    print_summary(report)
    errors = sum(s["errors"] for s in report["samples"])
    growing = [k for k in required if report["verdicts"][k]["verdict"] == "grows"]
    if growing:
        print(f"required to plateau but growing: {', '.join(growing)}")
    return 0 if errors == 0 and report["server_exit_code"] == 0 and not growing else 1


if __name__ == "__main__":
    sys.exit(main())
