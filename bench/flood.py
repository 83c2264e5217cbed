"""A neighbour's flood against a quiet station's latency (issue 12 item 5).

For each scenario the script starts ``kilowatt serve`` (fresh data directory, SQLite) with the
inbound limits on (the defaults: ``ocpp_inbound_rate`` 100/s, burst 200, violation budget 100
per 60 s) or off (rate 0, budget 0: every frame read as fast as it comes, as before the
limits). A flooding station, in its own process, boots and then sends ``--frames`` frames as
fast as its socket takes them: garbage (``this is not json``) or valid Heartbeats. Meanwhile a
quiet station, in this process, sends ``--quiet-rate`` Heartbeats per s for ``--window`` s, and
its call latency (send to answer) is reported as p50/p99/max, with the number of calls it got
through; ``none`` is the same without a flood.

    .venv/bin/python -m bench.flood
    .venv/bin/python -m bench.flood --frames 50000 --window 10 --version 1.6

The figures and the command go in docs/benchmarks.md ("Floods").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.synchronize
import os
import shutil
import statistics
import time
from collections.abc import Iterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.run import ROOT, Server, start_server, stop_server

SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
LIMITS_OFF = {"KILOWATT_OCPP_INBOUND_RATE": "0", "KILOWATT_OCPP_VIOLATION_BUDGET": "0"}


def boot_payload(version: str) -> dict[str, Any]:
    if version == "1.6":
        return {"chargePointVendor": "Bench", "chargePointModel": "Flood"}
    return {"chargingStation": {"vendorName": "Bench", "model": "Flood"}, "reason": "PowerUp"}


async def call(ws: ClientConnection, message_id: str, action: str, payload: Any) -> list[Any]:
    await ws.send(json.dumps([2, message_id, action, payload]))
    while True:
        answer = json.loads(await ws.recv())
        if answer[1] == message_id:
            return list(answer)


async def _flood(url: str, version: str, kind: str, frames: int, go: Any, booted: Any) -> None:
    async with connect(url, subprotocols=[SUBPROTOCOL[version]], max_size=None) as ws:  # type: ignore[list-item]
        await call(ws, "boot", "BootNotification", boot_payload(version))
        booted.set()
        while not go.is_set():
            await asyncio.sleep(0.001)

        async def drain() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    pass

        reader = asyncio.create_task(drain())
        with contextlib.suppress(ConnectionClosed):
            for i in range(frames):
                if kind == "garbage":
                    await ws.send("this is not json")
                else:
                    await ws.send(f'[2,"f{i}","Heartbeat",{{}}]')
        await reader


def flood_process(
    url: str,
    version: str,
    kind: str,
    frames: int,
    go: multiprocessing.synchronize.Event,
    booted: multiprocessing.synchronize.Event,
) -> None:
    """Entry point of the flooding station's process."""
    with contextlib.suppress(Exception):
        asyncio.run(_flood(url, version, kind, frames, go, booted))


async def quiet_station(url: str, version: str, window: float, rate: float) -> list[float]:
    """A Heartbeat every ``1 / rate`` s for ``window`` s; return their latencies in ms.

    Paced, not back to back: a real station sends far less than the inbound rate limit, and
    a closed loop would measure the quiet station's own limit instead of its neighbour's effect.
    """
    latencies: list[float] = []
    async with connect(url + "/QUIET", subprotocols=[SUBPROTOCOL[version]]) as ws:  # type: ignore[list-item]
        await call(ws, "boot", "BootNotification", boot_payload(version))
        end = time.perf_counter() + window
        i = 0
        while time.perf_counter() < end:
            i += 1
            start = time.perf_counter()
            await call(ws, f"q{i}", "Heartbeat", {})
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(max(0.0, start + 1 / rate - time.perf_counter()))
    return latencies


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def scenario(args: argparse.Namespace, kind: str, limits: bool) -> dict[str, Any]:
    """Start a server, flood it (``kind``: none, garbage, heartbeat), measure the quiet one."""
    with environment({} if limits else LIMITS_OFF):
        server: Server = start_server("kilowatt", args.kilowatt_cmd, 60.0)
    try:
        time.sleep(1.0)  # settle
        ctx = multiprocessing.get_context("fork")
        go, booted = ctx.Event(), ctx.Event()
        flooder = None
        if kind != "none":
            flooder = ctx.Process(
                target=flood_process,
                args=(server.url + "/FLOOD", args.version, kind, args.frames, go, booted),
            )
            flooder.start()
            booted.wait(30)
        go.set()
        latencies = asyncio.run(
            quiet_station(server.url, args.version, args.window, args.quiet_rate)
        )
        if flooder is not None:
            flooder.terminate()
            flooder.join()
        log = server.log.read_text(errors="replace")
        return {
            "flood": kind,
            "limits": "on" if limits else "off",
            "calls": len(latencies),
            "p50_ms": statistics.median(latencies),
            "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies),
            "flooder_log_lines": sum(1 for line in log.splitlines() if "FLOOD" in line),
            "flooder_closed_1008": "closing with code 1008" in log,
        }
    finally:
        stop_server(server)
        shutil.rmtree(server.workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", choices=sorted(SUBPROTOCOL), default="1.6")
    parser.add_argument("--frames", type=int, default=50_000, help="frames the neighbour sends")
    parser.add_argument("--window", type=float, default=10.0, help="measured window (s)")
    parser.add_argument("--quiet-rate", type=float, default=20.0, help="quiet station calls/s")
    parser.add_argument("--kilowatt-cmd", default=str(ROOT / ".venv" / "bin" / "kilowatt"))
    args = parser.parse_args(argv)
    rows = [scenario(args, "none", True)]
    for kind in ("garbage", "heartbeat"):
        for limits in (False, True):
            rows.append(scenario(args, kind, limits))
    print(
        f"loadavg {os.getloadavg()[0]:.2f}; OCPP {args.version}; {args.frames:,} frames; "
        f"window {args.window:g} s"
    )
    header = f"{'flood':<10} {'limits':<6} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
    print(header + f"{'flooder log lines':>18} {'closed 1008':>12}")
    for row in rows:
        print(
            f"{row['flood']:<10} {row['limits']:<6} {row['calls']:>6} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['max_ms']:>8.2f} {row['flooder_log_lines']:>18} "
            f"{'yes' if row['flooder_closed_1008'] else 'no':>12}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
