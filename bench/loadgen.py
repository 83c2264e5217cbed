"""Kilowatt's OCPP load generator: many lean stations, one outstanding call each.

Two modes:

``mix``
    N stations connect and boot, then each runs charging sessions in a closed loop, one
    outstanding call per station: StatusNotification, Authorize, start, 6 x (MeterValues with
    5 sampled values + Heartbeat), stop, StatusNotification — 17 calls per session. For OCPP
    1.6 start/stop are StartTransaction/StopTransaction (the transactionId the CSMS assigns is
    used); for 2.0.1 they are TransactionEvent Started/Updated(x6, carrying the 5 sampled
    values, in place of MeterValues)/Ended. Calls/s and latency are measured over a window
    after a warm-up.

``connections``
    N stations connect and boot, then heartbeat every ``--heartbeat-interval`` seconds for
    ``--duration`` seconds. It records the time to connect and boot all of them, the failures,
    and (given ``--server-pid``) the server's RSS per connected station.

The generator must cost far less than the server it measures, so a station is not a
WebSocket library object but a small ``asyncio.Protocol`` driven by callbacks: frames are
pre-encoded byte templates into which a message id, a transaction id and a cached timestamp
are %-formatted (no JSON encoding per call); an answer is parsed only for its message type,
message id and, for StartTransaction, the transactionId; client frames use an all-zero
masking key, which is valid RFC 6455 framing (the server still unmasks every byte) and makes
masking free on our side. There are no per-call tasks, futures or timers: one watchdog timer
per process scans for timed-out calls. ``--processes K`` splits the stations over K worker
processes and merges their statistics.

Run ``python -m bench.loadgen --help``; the side-by-side runner is ``python -m bench.run``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import random
import re
import resource
import socket
import struct
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

try:  # uvloop is a dependency on Linux; fall back to asyncio's loop elsewhere.
    import uvloop

    _loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover
    _loop_factory = None

VERSIONS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
"""Supported OCPP versions and their WebSocket subprotocols."""

SESSION_CALLS = 17
"""Calls per charging session: status, authorize, start, 6 x (meter + heartbeat), stop, status."""

# ---------------------------------------------------------------------------------------------
# Frame templates. Each is a complete OCPP-J CALL with %-placeholders; the first is always the
# message id. They are bytes so that formatting produces the WebSocket payload directly.
# ---------------------------------------------------------------------------------------------

_SV16 = (
    b'{"value":"%d","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register",'
    b'"location":"Outlet","unit":"Wh"},'
    b'{"value":"11040","context":"Sample.Periodic","measurand":"Power.Active.Import",'
    b'"location":"Outlet","unit":"W"},'
    b'{"value":"16.0","context":"Sample.Periodic","measurand":"Current.Import","phase":"L1",'
    b'"location":"Outlet","unit":"A"},'
    b'{"value":"230.1","context":"Sample.Periodic","measurand":"Voltage","phase":"L1-N",'
    b'"location":"Outlet","unit":"V"},'
    b'{"value":"%d","context":"Sample.Periodic","measurand":"SoC","location":"EV",'
    b'"unit":"Percent"}'
)

T16_BOOT = (
    b'[2,"%d","BootNotification",{"chargePointVendor":"Kilowatt","chargePointModel":'
    b'"BenchStation","chargePointSerialNumber":"%s","firmwareVersion":"1.0.0"}]'
)
T16_STATUS = (
    b'[2,"%d","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"%s",'
    b'"timestamp":"%s"}]'
)
T16_AUTHORIZE = b'[2,"%d","Authorize",{"idTag":"%s"}]'
T16_START = (
    b'[2,"%d","StartTransaction",{"connectorId":1,"idTag":"%s","meterStart":%d,"timestamp":"%s"}]'
)
T16_METER = (
    b'[2,"%d","MeterValues",{"connectorId":1,"transactionId":%d,"meterValue":[{"timestamp":'
    b'"%s","sampledValue":[' + _SV16 + b"]}]}]"
)
T16_HEARTBEAT = b'[2,"%d","Heartbeat",{}]'
T16_STOP = (
    b'[2,"%d","StopTransaction",{"transactionId":%d,"idTag":"%s","meterStop":%d,'
    b'"timestamp":"%s","reason":"Local"}]'
)

_SV201 = (
    b'{"value":%d,"context":"Sample.Periodic","measurand":"Energy.Active.Import.Register",'
    b'"location":"Outlet","unitOfMeasure":{"unit":"Wh"}},'
    b'{"value":11040,"context":"Sample.Periodic","measurand":"Power.Active.Import",'
    b'"location":"Outlet","unitOfMeasure":{"unit":"W"}},'
    b'{"value":16.0,"context":"Sample.Periodic","measurand":"Current.Import","phase":"L1",'
    b'"location":"Outlet","unitOfMeasure":{"unit":"A"}},'
    b'{"value":230.1,"context":"Sample.Periodic","measurand":"Voltage","phase":"L1-N",'
    b'"location":"Outlet","unitOfMeasure":{"unit":"V"}},'
    b'{"value":%d,"context":"Sample.Periodic","measurand":"SoC","location":"EV",'
    b'"unitOfMeasure":{"unit":"Percent"}}'
)

T201_BOOT = (
    b'[2,"%d","BootNotification",{"chargingStation":{"model":"BenchStation","vendorName":'
    b'"Kilowatt","serialNumber":"%s","firmwareVersion":"1.0.0"},"reason":"PowerUp"}]'
)
T201_STATUS = (
    b'[2,"%d","StatusNotification",{"timestamp":"%s","connectorStatus":"%s","evseId":1,'
    b'"connectorId":1}]'
)
T201_AUTHORIZE = b'[2,"%d","Authorize",{"idToken":{"idToken":"%s","type":"ISO14443"}}]'
T201_STARTED = (
    b'[2,"%d","TransactionEvent",{"eventType":"Started","timestamp":"%s","triggerReason":'
    b'"Authorized","seqNo":0,"transactionInfo":{"transactionId":"%s","chargingState":'
    b'"Charging"},"idToken":{"idToken":"%s","type":"ISO14443"},"evse":{"id":1,'
    b'"connectorId":1},"meterValue":[{"timestamp":"%s","sampledValue":[{"value":%d,'
    b'"context":"Transaction.Begin","measurand":"Energy.Active.Import.Register",'
    b'"unitOfMeasure":{"unit":"Wh"}}]}]}]'
)
T201_UPDATED = (
    b'[2,"%d","TransactionEvent",{"eventType":"Updated","timestamp":"%s","triggerReason":'
    b'"MeterValuePeriodic","seqNo":%d,"transactionInfo":{"transactionId":"%s",'
    b'"chargingState":"Charging"},"meterValue":[{"timestamp":"%s","sampledValue":['
    + _SV201
    + b"]}]}]"
)
T201_HEARTBEAT = b'[2,"%d","Heartbeat",{}]'
T201_ENDED = (
    b'[2,"%d","TransactionEvent",{"eventType":"Ended","timestamp":"%s","triggerReason":'
    b'"StopAuthorized","seqNo":%d,"transactionInfo":{"transactionId":"%s","chargingState":'
    b'"EVConnected","stoppedReason":"Local"},"idToken":{"idToken":"%s","type":"ISO14443"},'
    b'"meterValue":[{"timestamp":"%s","sampledValue":[{"value":%d,"context":'
    b'"Transaction.End","measurand":"Energy.Active.Import.Register","unitOfMeasure":'
    b'{"unit":"Wh"}}]}]}]'
)

LABELS: dict[str, tuple[str, ...]] = {
    "1.6": (
        "BootNotification",
        "StatusNotification",
        "Authorize",
        "StartTransaction",
        "MeterValues",
        "Heartbeat",
        "StopTransaction",
    ),
    "2.0.1": (
        "BootNotification",
        "StatusNotification",
        "Authorize",
        "TransactionEvent.Started",
        "TransactionEvent.Updated",
        "Heartbeat",
        "TransactionEvent.Ended",
    ),
}
"""Per-version names of the label indices used in the statistics (same shape for both)."""

L_BOOT, L_STATUS, L_AUTHORIZE, L_START, L_METER, L_HEARTBEAT, L_STOP = range(7)

_TXID_RE = re.compile(rb'"transactionId"\s*:\s*(-?\d+)')
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_H_SMALL = struct.Struct("!BB4x")  # FIN+opcode, MASK|len, zero masking key
_H_MEDIUM = struct.Struct("!BBH4x")
_H_LARGE = struct.Struct("!BBQ4x")

ENERGY_STEP_WH = 1840
"""Energy added between two meter samples (11 kW for 10 minutes)."""


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """Return a final client frame carrying ``payload`` with an all-zero masking key."""
    n = len(payload)
    if n < 126:
        return _H_SMALL.pack(0x80 | opcode, 0x80 | n) + payload
    if n < 65536:
        return _H_MEDIUM.pack(0x80 | opcode, 0xFE, n) + payload
    return _H_LARGE.pack(0x80 | opcode, 0xFF, n) + payload


def utc_timestamp() -> bytes:
    """Return the current UTC time as an OCPP date-time (second resolution), as bytes."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()


# ---------------------------------------------------------------------------------------------
# Configuration and statistics
# ---------------------------------------------------------------------------------------------


@dataclass
class Config:
    """Everything a load generator run needs; see ``python -m bench.loadgen --help``."""

    url: str = "ws://127.0.0.1:9000/ocpp"
    version: str = "1.6"
    mode: str = "mix"
    stations: int = 200
    duration: float = 30.0
    warmup: float = 5.0
    processes: int = 1
    id_prefix: str = "BENCH"
    id_tag: str = "BENCHTAG01"
    call_timeout: float = 30.0
    connect_timeout: float = 30.0
    connect_concurrency: int = 256
    heartbeat_interval: float = 5.0
    source_ips: int = 1
    server_pid: int | None = None
    settle: float = 1.0
    drain: float = 5.0
    run_id: str = field(default_factory=lambda: os.urandom(3).hex())


@dataclass
class Counters:
    """Error and event counters of one worker (summed when merged)."""

    connect_failures: int = 0
    boot_rejected: int = 0
    callerrors: int = 0
    timeouts: int = 0
    disconnects: int = 0
    callerrors_window: int = 0
    timeouts_window: int = 0
    disconnects_window: int = 0
    server_calls: int = 0
    unexpected_frames: int = 0
    sessions_window: int = 0
    calls_total: int = 0


class Stats:
    """Per-worker statistics: counters, latencies (ms) in the measured window, samples."""

    def __init__(self, labels: int) -> None:
        self.counters = Counters()
        self.latency: list[array[float]] = [array("d") for _ in range(labels)]
        self.error_samples: list[str] = []
        self.window_start = math.inf
        self.window_end = math.inf
        self.stop_at = math.inf

    def sample_error(self, text: str) -> None:
        """Keep the first few error descriptions for the report."""
        if len(self.error_samples) < 10:
            self.error_samples.append(text)


# ---------------------------------------------------------------------------------------------
# One station: a minimal WebSocket client protocol plus the OCPP session state machine
# ---------------------------------------------------------------------------------------------

_CONNECTING, _OPEN, _CLOSING, _CLOSED = range(4)


class Station(asyncio.Protocol):
    """A simulated charging station on one TCP connection.

    The station is driven entirely by callbacks: ``data_received`` parses the answer to its
    one outstanding call, records the latency and sends the next call of the scenario.
    """

    __slots__ = (
        "_buf",
        "_frag",
        "_key",
        "accepted",
        "booted",
        "closed_waiter",
        "energy",
        "expected",
        "ident",
        "ident_b",
        "label",
        "loop",
        "mid",
        "mode",
        "next_heartbeat",
        "open_waiter",
        "seq",
        "session",
        "shared",
        "state",
        "step",
        "t_sent",
        "transport",
        "txid",
        "txid_b",
    )

    def __init__(self, shared: Shared, ident: str) -> None:
        self.shared = shared
        self.ident = ident
        self.ident_b = ident.encode()
        self.loop = shared.loop
        self.transport: asyncio.Transport | None = None
        self.state = _CONNECTING
        self._buf = bytearray()
        self._frag = bytearray()
        self._key = base64.b64encode(os.urandom(16))
        self.open_waiter: asyncio.Future[None] = self.loop.create_future()
        self.closed_waiter: asyncio.Future[None] = self.loop.create_future()
        self.accepted = False
        self.booted = False
        self.mode = 0  # 0 idle, 1 boot, 2 mix loop, 3 heartbeat loop
        self.expected = b""
        self.t_sent = 0.0
        self.label = 0
        self.step = 0
        self.session = 0
        self.txid = 0
        self.txid_b = b""
        self.seq = 0
        self.energy = random.randrange(1_000, 1_000_000)
        self.mid = 0
        self.next_heartbeat: asyncio.TimerHandle | None = None

    # -- WebSocket ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the opening handshake."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sh = self.shared
        self.transport.write(
            b"GET %s/%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: %s\r\n\r\n"
            % (sh.path, self.ident_b, sh.host_header, self._key, sh.subprotocol)
        )

    def data_received(self, data: bytes) -> None:
        """Parse server frames; the common case (one small complete text frame) is fast."""
        if self.state != _OPEN:
            if self.state == _CONNECTING:
                self._handshake(data)
            elif self.state == _CLOSING:
                self._parse(data)
            return
        if not self._buf and len(data) >= 2 and data[0] == 0x81:
            n = data[1]
            if n < 126 and len(data) == n + 2:
                self.on_message(data[2:])
                return
        self._parse(data)

    def _handshake(self, data: bytes) -> None:
        self._buf += data
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > 65536:
                self._fail_open("handshake response too large")
            return
        head = bytes(self._buf[:end]).decode("latin-1")
        rest = bytes(self._buf[end + 4 :])
        self._buf.clear()
        lines = head.split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            self._fail_open(f"handshake refused: {lines[0]}")
            return
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(self._key + _WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            self._fail_open("bad Sec-WebSocket-Accept")
            return
        if headers.get("sec-websocket-protocol", "").encode() != self.shared.subprotocol:
            self._fail_open(f"subprotocol not negotiated: {headers.get('sec-websocket-protocol')}")
            return
        self.state = _OPEN
        if not self.open_waiter.done():
            self.open_waiter.set_result(None)
        if rest:
            self._parse(rest)

    def _fail_open(self, reason: str) -> None:
        if not self.open_waiter.done():
            self.open_waiter.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.abort()

    def _parse(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while True:
            n = len(buf)
            if n < 2:
                return
            b0 = buf[0]
            b1 = buf[1]
            length = b1 & 0x7F
            offset = 2
            if length == 126:
                if n < 4:
                    return
                length = int.from_bytes(buf[2:4], "big")
                offset = 4
            elif length == 127:
                if n < 10:
                    return
                length = int.from_bytes(buf[2:10], "big")
                offset = 10
            if b1 & 0x80 and self.transport is not None:  # servers must not mask
                self.transport.abort()
                return
            if n < offset + length:
                return
            payload = bytes(buf[offset : offset + length])
            del buf[: offset + length]
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x2):
                if b0 & 0x80:
                    self.on_message(payload)
                else:
                    self._frag[:] = payload
            elif opcode == 0x0:
                self._frag += payload
                if b0 & 0x80:
                    message = bytes(self._frag)
                    self._frag.clear()
                    self.on_message(message)
            elif opcode == 0x9:
                self._write(ws_frame(payload, 0xA))
            elif opcode == 0x8:
                if self.state == _OPEN:
                    self._write(ws_frame(payload[:2], 0x8))
                self.state = _CLOSING
                if self.transport is not None:
                    self.transport.close()
                return

    def _write(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        """Count a disconnect unless we were closing; fail a pending handshake."""
        was = self.state
        self.state = _CLOSED
        if self.next_heartbeat is not None:
            self.next_heartbeat.cancel()
        if not self.open_waiter.done():
            self.open_waiter.set_exception(ConnectionError(f"connection lost: {exc}"))
        if was == _OPEN and not self.shared.closing:
            self.shared.on_disconnect(self, exc)
        if not self.closed_waiter.done():
            self.closed_waiter.set_result(None)

    def close(self) -> None:
        """Start the closing handshake (close code 1000)."""
        if self.state == _OPEN:
            self._write(ws_frame(b"\x03\xe8", 0x8))
            self.state = _CLOSING
        elif self.state == _CONNECTING and self.transport is not None:
            self.transport.abort()

    # -- OCPP ----------------------------------------------------------------------------------

    def send_call(self, label: int, payload: bytes, mid: int) -> None:
        """Send one CALL (``payload`` already holds message id ``mid``) and remember it."""
        self.label = label
        self.expected = b"%d" % mid
        self.t_sent = time.perf_counter()
        self.shared.outstanding.add(self)
        self.transport.write(ws_frame(payload))  # type: ignore[union-attr]

    def on_message(self, data: bytes) -> None:
        """Handle one OCPP-J message from the server."""
        q = data.find(b'"')
        e = data.find(b'"', q + 1)
        if q < 0 or e < 0:
            self.shared.stats.counters.unexpected_frames += 1
            return
        mtype = data[1:q].strip(b" \t\r\n,")
        mid = data[q + 1 : e]
        if mtype == b"2":  # a CALL from the CSMS: we support none of them
            self.shared.stats.counters.server_calls += 1
            self._write(ws_frame(b'[4,"%s","NotSupported","",{}]' % mid))
            return
        if mid != self.expected or not self.expected:
            self.shared.stats.counters.unexpected_frames += 1
            return
        self.expected = b""
        now = time.perf_counter()
        sh = self.shared
        sh.outstanding.discard(self)
        stats = sh.stats
        stats.counters.calls_total += 1
        label = self.label
        ok = mtype == b"3"
        if sh.in_window(now):
            if ok:
                stats.latency[label].append((now - self.t_sent) * 1000.0)
            else:
                stats.counters.callerrors_window += 1
        if not ok:
            stats.counters.callerrors += 1
            stats.sample_error(f"{LABELS[sh.version][label]}: {data[:200]!r}")
        if label == L_BOOT:
            self.accepted = ok and b'"Accepted"' in data
            if ok and not self.accepted:
                stats.counters.boot_rejected += 1
                stats.sample_error(f"{self.ident}: boot not accepted: {data[:200]!r}")
            sh.on_booted(self)
            return
        if label == L_START and ok and sh.v16:
            match = _TXID_RE.search(data)
            if match is not None:
                self.txid = int(match.group(1))
        if self.mode == 2:
            if self.step == SESSION_CALLS - 1 and sh.in_window(now):
                stats.counters.sessions_window += 1
            self.step = (self.step + 1) % SESSION_CALLS
            if now < stats.stop_at and self.state == _OPEN:
                self.send_step()
            else:
                self.mode = 0
                sh.maybe_drained()
        elif self.mode == 3:
            if now < stats.stop_at and self.state == _OPEN:
                delay = sh.heartbeat_interval - (now - self.t_sent)
                self.next_heartbeat = self.loop.call_later(max(delay, 0.0), self.heartbeat)
            else:
                self.mode = 0
                sh.maybe_drained()

    def boot(self) -> None:
        """Send BootNotification."""
        self.mode = 1
        sh = self.shared
        mid = sh.next_mid()
        template = T16_BOOT if sh.v16 else T201_BOOT
        self.send_call(L_BOOT, template % (mid, self.ident_b), mid)

    def heartbeat(self) -> None:
        """Send one Heartbeat (connections mode)."""
        self.next_heartbeat = None
        if self.state != _OPEN or self.expected:
            return
        self.mode = 3
        mid = self.shared.next_mid()
        self.send_call(L_HEARTBEAT, T16_HEARTBEAT % mid, mid)

    def send_step(self) -> None:
        """Send the call for the current step of the charging-session scenario."""
        self.mode = 2
        sh = self.shared
        mid = sh.next_mid()
        step = self.step
        ts = sh.timestamp
        if sh.v16:
            if step == 0:
                self.send_call(L_STATUS, T16_STATUS % (mid, b"Preparing", ts), mid)
            elif step == 1:
                self.send_call(L_AUTHORIZE, T16_AUTHORIZE % (mid, sh.id_tag), mid)
            elif step == 2:
                self.session += 1
                self.send_call(L_START, T16_START % (mid, sh.id_tag, self.energy, ts), mid)
            elif step < 15:
                if step % 2:
                    self.energy += ENERGY_STEP_WH
                    soc = 20 + 10 * (step // 2)
                    frame = T16_METER % (mid, self.txid, ts, self.energy, soc)
                    self.send_call(L_METER, frame, mid)
                else:
                    self.send_call(L_HEARTBEAT, T16_HEARTBEAT % mid, mid)
            elif step == 15:
                frame = T16_STOP % (mid, self.txid, sh.id_tag, self.energy, ts)
                self.send_call(L_STOP, frame, mid)
            else:
                self.send_call(L_STATUS, T16_STATUS % (mid, b"Available", ts), mid)
        else:
            if step == 0:
                self.send_call(L_STATUS, T201_STATUS % (mid, ts, b"Occupied"), mid)
            elif step == 1:
                self.send_call(L_AUTHORIZE, T201_AUTHORIZE % (mid, sh.id_tag), mid)
            elif step == 2:
                self.session += 1
                self.txid_b = b"%s%s-%d" % (sh.run_id, self.ident_b, self.session)
                self.seq = 0
                frame = T201_STARTED % (mid, ts, self.txid_b, sh.id_tag, ts, self.energy)
                self.send_call(L_START, frame, mid)
            elif step < 15:
                if step % 2:
                    self.energy += ENERGY_STEP_WH
                    self.seq += 1
                    soc = 20 + 10 * (step // 2)
                    frame = T201_UPDATED % (
                        mid,
                        ts,
                        self.seq,
                        self.txid_b,
                        ts,
                        self.energy,
                        soc,
                    )
                    self.send_call(L_METER, frame, mid)
                else:
                    self.send_call(L_HEARTBEAT, T201_HEARTBEAT % mid, mid)
            elif step == 15:
                self.seq += 1
                frame = T201_ENDED % (
                    mid,
                    ts,
                    self.seq,
                    self.txid_b,
                    sh.id_tag,
                    ts,
                    self.energy,
                )
                self.send_call(L_STOP, frame, mid)
            else:
                self.send_call(L_STATUS, T201_STATUS % (mid, ts, b"Available"), mid)


class Shared:
    """State shared by the stations of one worker: config, counters, clock, bookkeeping."""

    def __init__(self, cfg: Config, loop: asyncio.AbstractEventLoop) -> None:
        parts = urlsplit(cfg.url)
        if parts.scheme != "ws" or parts.hostname is None:
            raise ValueError(f"expected ws://host:port/path, got {cfg.url!r}")
        self.loop = loop
        self.cfg = cfg
        self.version = cfg.version
        self.v16 = cfg.version == "1.6"
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = parts.path.rstrip("/").encode()
        self.host_header = f"{self.host}:{self.port}".encode()
        self.subprotocol = VERSIONS[cfg.version].encode()
        self.id_tag = cfg.id_tag.encode()
        self.run_id = cfg.run_id.encode()
        self.heartbeat_interval = cfg.heartbeat_interval
        self.stats = Stats(len(LABELS[cfg.version]))
        self.timestamp = utc_timestamp()
        self.outstanding: set[Station] = set()
        self.closing = False
        self._mid = 0
        self.booted_count = 0
        self.boot_target = 0
        self.last_boot = 0.0
        self.all_booted: asyncio.Future[None] = loop.create_future()
        self.drained: asyncio.Future[None] = loop.create_future()
        self.stations: list[Station] = []

    def next_mid(self) -> int:
        """Return a fresh message id (unique within this worker, hence per connection)."""
        self._mid += 1
        return self._mid

    def in_window(self, now: float) -> bool:
        """Whether ``now`` (perf counter) is inside the measured window."""
        return self.stats.window_start <= now < self.stats.window_end

    def on_booted(self, station: Station) -> None:
        """Count a finished boot; resolve ``all_booted`` when every station is accounted."""
        station.mode = 0
        station.booted = True
        self.booted_count += 1
        self.last_boot = time.time()
        self._check_booted()

    def _check_booted(self) -> None:
        if self.booted_count >= self.boot_target and not self.all_booted.done():
            self.all_booted.set_result(None)

    def on_disconnect(self, station: Station, exc: Exception | None) -> None:
        """Count an unexpected disconnect (and the call it left unanswered)."""
        counters = self.stats.counters
        counters.disconnects += 1
        if self.in_window(time.perf_counter()):
            counters.disconnects_window += 1
        self.stats.sample_error(f"{station.ident}: disconnected ({exc})")
        self.outstanding.discard(station)
        if not station.booted:
            station.booted = True
            self.booted_count += 1
            self._check_booted()
        self.maybe_drained()

    def maybe_drained(self) -> None:
        """Resolve ``drained`` once no call is outstanding after the stop time."""
        if (
            not self.outstanding
            and time.perf_counter() >= self.stats.stop_at
            and not self.drained.done()
        ):
            self.drained.set_result(None)

    def tick(self) -> None:
        """Once a second: refresh the cached timestamp and time out overdue calls."""
        self.timestamp = utc_timestamp()
        now = time.perf_counter()
        deadline = now - self.cfg.call_timeout
        overdue = [s for s in self.outstanding if s.t_sent < deadline]
        for station in overdue:
            self.outstanding.discard(station)
            self.stats.counters.timeouts += 1
            if self.in_window(now):
                self.stats.counters.timeouts_window += 1
            self.stats.sample_error(
                f"{station.ident}: {LABELS[self.version][station.label]} timed out"
            )
            station.expected = b""
            if station.mode == 1:
                self.on_booted(station)
            station.mode = 0
            station.close()
        self.maybe_drained()
        if not self.closing:
            self.loop.call_later(1.0, self.tick)


# ---------------------------------------------------------------------------------------------
# Worker: one process's share of the stations
# ---------------------------------------------------------------------------------------------


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _open_station(sh: Shared, index: int, sem: asyncio.Semaphore) -> Station | None:
    cfg = sh.cfg
    station = Station(sh, f"{cfg.id_prefix}{index:05d}")
    async with sem:
        try:
            if cfg.source_ips > 1:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT
                n = 2 + index % cfg.source_ips
                sock.bind((f"127.0.{n // 256}.{n % 256}", 0))
                sock.setblocking(False)
                await asyncio.wait_for(
                    sh.loop.sock_connect(sock, (sh.host, sh.port)), cfg.connect_timeout
                )
                await sh.loop.create_connection(lambda: station, sock=sock)
            else:
                await asyncio.wait_for(
                    sh.loop.create_connection(lambda: station, sh.host, sh.port),
                    cfg.connect_timeout,
                )
            await asyncio.wait_for(station.open_waiter, cfg.connect_timeout)
        except (OSError, TimeoutError) as exc:
            sh.stats.counters.connect_failures += 1
            sh.stats.sample_error(f"{station.ident}: connect failed: {exc!r}")
            station.close()
            sh.booted_count += 1
            sh._check_booted()
            return None
    sh.stations.append(station)
    station.boot()
    return station


async def _wait_pipe(loop: asyncio.AbstractEventLoop, conn: Any) -> Any:
    """Receive one object from a multiprocessing connection without blocking the loop."""
    future: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not future.done():
            future.set_result(None)

    loop.add_reader(conn.fileno(), readable)
    try:
        await future
    finally:
        loop.remove_reader(conn.fileno())
    return conn.recv()


async def worker_async(cfg: Config, indices: list[int], conn: Any) -> dict[str, Any]:
    """Connect and boot ``indices``, wait for the controller's go, run the mode, report."""
    loop = asyncio.get_running_loop()
    sh = Shared(cfg, loop)
    sh.boot_target = len(indices)
    sh.tick()
    sem = asyncio.Semaphore(cfg.connect_concurrency)
    t_connect = time.time()
    opens = [loop.create_task(_open_station(sh, i, sem)) for i in indices]
    if not indices:
        sh.all_booted.set_result(None)
    await asyncio.gather(*opens)
    await sh.all_booted
    live = [s for s in sh.stations if s.state == _OPEN and s.accepted]
    conn.send(
        (
            "booted",
            {
                "connected": len(sh.stations),
                "booted": len(live),
                "first_connect": t_connect,
                "last_boot": sh.last_boot or time.time(),
            },
        )
    )
    kind, t0 = await _wait_pipe(loop, conn)
    assert kind == "go"
    offset = time.perf_counter() - time.time()
    stats = sh.stats
    if cfg.mode == "mix":
        stats.window_start = t0 + cfg.warmup + offset
    else:
        stats.window_start = t0 + offset
    stats.window_end = stats.window_start + cfg.duration
    stats.stop_at = stats.window_end
    cpu: dict[str, float] = {}
    loop.call_at(
        loop.time() + (stats.window_start - time.perf_counter()),
        lambda: cpu.__setitem__("start", time.process_time()),
    )
    loop.call_at(
        loop.time() + (stats.window_end - time.perf_counter()),
        lambda: cpu.__setitem__("end", time.process_time()),
    )
    start_delay = max(0.0, t0 + offset - time.perf_counter())
    await asyncio.sleep(start_delay)
    for station in live:
        if cfg.mode == "mix":
            station.send_step()
        else:
            phase = random.random() * cfg.heartbeat_interval
            station.next_heartbeat = loop.call_later(phase, station.heartbeat)
    await asyncio.sleep(max(0.0, stats.window_end - time.perf_counter()))
    for station in live:  # connections mode: cancel heartbeats not yet sent
        if station.next_heartbeat is not None:
            station.next_heartbeat.cancel()
            station.next_heartbeat = None
    sh.maybe_drained()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(sh.drained), cfg.drain + cfg.call_timeout)
    alive = sum(1 for s in sh.stations if s.state == _OPEN)
    sh.closing = True
    for station in sh.stations:
        station.close()
    waiters = [s.closed_waiter for s in sh.stations]
    if waiters:
        _done, _pending = await asyncio.wait(waiters, timeout=5.0)
        for station in sh.stations:
            if station.state != _CLOSED and station.transport is not None:
                station.transport.abort()
    return {
        "counters": asdict(stats.counters),
        "latency": [lat.tobytes() for lat in stats.latency],
        "errors": stats.error_samples,
        "alive_at_end": alive,
        "cpu_window_s": cpu.get("end", time.process_time()) - cpu.get("start", 0.0),
        "cpu_total_s": time.process_time(),
    }


def worker_main(cfg: Config, indices: list[int], conn: Any) -> None:
    """Entry point of a worker process."""
    raise_fd_limit()
    try:
        with asyncio.Runner(loop_factory=_loop_factory) as runner:
            result = runner.run(worker_async(cfg, indices, conn))
        os.set_blocking(conn.fileno(), True)  # the event loop made it non-blocking
        conn.send(("done", result))
    except BaseException as exc:  # report, then die
        os.set_blocking(conn.fileno(), True)
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Controller: spreads stations over workers, samples the server, merges the results
# ---------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    pids = [pid]
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                for child in fh.read().split():
                    pids.extend(_children(int(child)))
    return pids


def server_rss_kb(pid: int) -> int:
    """Return the resident set size (KB) of ``pid`` and its descendants."""
    total = 0
    for p in _children(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
    return total


def server_cpu_s(pid: int) -> float:
    """Return user+system CPU seconds used so far by ``pid`` and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in _children(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def listen_overflows() -> int | None:
    """Return the host's TcpExt ListenOverflows counter (SYNs dropped on a full accept queue).

    System-wide, so only a hint; a growing value during the connect phase means the server's
    listen backlog is too small and clients wait for a SYN retransmission (1 s, then 3 s...).
    """
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/net/netstat") as fh:
        lines = fh.read().splitlines()
        for names, values in zip(lines[::2], lines[1::2], strict=False):
            if names.startswith("TcpExt:"):
                fields = dict(zip(names.split()[1:], values.split()[1:], strict=True))
                return int(fields["ListenOverflows"])
    return None


def percentiles(values: array[float]) -> dict[str, float]:
    """Return count, mean, p50, p90, p99, p99.9 and max of ``values`` (ms)."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    n = len(ordered)

    def pct(p: float) -> float:
        return round(ordered[min(n - 1, math.ceil(p / 100.0 * n) - 1)], 3)

    return {
        "count": n,
        "mean": round(sum(ordered) / n, 3),
        "p50": pct(50),
        "p90": pct(90),
        "p99": pct(99),
        "p99_9": pct(99.9),
        "max": round(ordered[-1], 3),
    }


def _recv(conn: Any, deadline: float, what: str) -> Any:
    remaining = deadline - time.time()
    if remaining <= 0 or not conn.poll(remaining):
        raise TimeoutError(f"worker did not report {what} in time")
    message = conn.recv()
    if message[0] == "failed":
        raise RuntimeError(f"worker failed: {message[1]}")
    return message


def _sleep_until(t: float) -> None:
    delay = t - time.time()
    if delay > 0:
        time.sleep(delay)


def run(cfg: Config) -> dict[str, Any]:
    """Run one load generation (blocking) and return its merged results as a JSON-able dict."""
    if cfg.version not in VERSIONS:
        raise ValueError(f"unsupported version {cfg.version!r}")
    if cfg.mode not in ("mix", "connections"):
        raise ValueError(f"unsupported mode {cfg.mode!r}")
    raise_fd_limit()
    pid = cfg.server_pid
    rss_idle = server_rss_kb(pid) if pid else None
    overflows_before = listen_overflows()
    ctx = multiprocessing.get_context("fork")
    workers = []
    for w in range(cfg.processes):
        indices = list(range(w, cfg.stations, cfg.processes))
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker_main, args=(cfg, indices, child), daemon=True)
        proc.start()
        child.close()
        workers.append((proc, parent))
    try:
        boot_deadline = time.time() + cfg.connect_timeout * 2 + cfg.stations / 50 + 30
        booted = [_recv(conn, boot_deadline, "boot")[1] for _, conn in workers]
        t_all_booted = time.time()
        overflows_after = listen_overflows()
        first_connect = min(b["first_connect"] for b in booted)
        last_boot = max(b["last_boot"] for b in booted)
        time.sleep(cfg.settle)
        rss_connected = server_rss_kb(pid) if pid else None
        t0 = time.time() + 0.2
        for _, conn in workers:
            conn.send(("go", t0))
        window_start = t0 + (cfg.warmup if cfg.mode == "mix" else 0.0)
        window_end = window_start + cfg.duration
        _sleep_until(window_start)
        server_cpu_start = server_cpu_s(pid) if pid else None
        _sleep_until(window_end)
        server_cpu_end = server_cpu_s(pid) if pid else None
        rss_end = server_rss_kb(pid) if pid else None
        done_deadline = time.time() + cfg.drain + cfg.call_timeout + 30
        results = [_recv(conn, done_deadline, "results")[1] for _, conn in workers]
    finally:
        for proc, conn in workers:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
            conn.close()
    return _merge(
        cfg,
        booted,
        results,
        boot_all_s=last_boot - first_connect,
        wall_booted=t_all_booted - first_connect,
        rss=(rss_idle, rss_connected, rss_end),
        server_cpu=(server_cpu_start, server_cpu_end),
        overflows=None
        if overflows_before is None or overflows_after is None
        else overflows_after - overflows_before,
    )


def _merge(
    cfg: Config,
    booted: list[dict[str, Any]],
    results: list[dict[str, Any]],
    *,
    boot_all_s: float,
    wall_booted: float,
    rss: tuple[int | None, int | None, int | None],
    server_cpu: tuple[float | None, float | None],
    overflows: int | None = None,
) -> dict[str, Any]:
    labels = LABELS[cfg.version]
    counters = Counters()
    for result in results:
        for key, value in result["counters"].items():
            setattr(counters, key, getattr(counters, key) + value)
    per_label: list[array[float]] = [array("d") for _ in labels]
    for result in results:
        for i, raw in enumerate(result["latency"]):
            per_label[i].frombytes(raw)
    everything: array[float] = array("d")
    for lat in per_label:
        everything.extend(lat)
    calls = len(everything)
    errors_window = (
        counters.callerrors_window + counters.timeouts_window + counters.disconnects_window
    )
    errors_total = counters.callerrors + counters.timeouts + counters.disconnects
    loadgen_cpu = sum(r["cpu_window_s"] for r in results)
    rss_idle, rss_connected, rss_end = rss
    cpu_start, cpu_end = server_cpu
    server_cpu_window = (
        cpu_end - cpu_start if cpu_start is not None and cpu_end is not None else None
    )
    connected = sum(b["connected"] for b in booted)
    n_booted = sum(b["booted"] for b in booted)
    out: dict[str, Any] = {
        "mode": cfg.mode,
        "version": cfg.version,
        "params": {k: v for k, v in asdict(cfg).items() if k not in ("server_pid", "run_id")},
        "stations": cfg.stations,
        "connected": connected,
        "booted": n_booted,
        "connect_failures": counters.connect_failures,
        "boot_failures": cfg.stations - n_booted,
        "boot_rejected": counters.boot_rejected,
        "boot_all_s": round(boot_all_s, 3),
        "boot_all_wall_s": round(wall_booted, 3),
        "alive_at_end": sum(r["alive_at_end"] for r in results),
        "listen_overflows": overflows,
        "window_s": cfg.duration,
        "calls": calls,
        "calls_per_s": round(calls / cfg.duration, 1),
        "sessions": counters.sessions_window,
        "latency_ms": percentiles(everything),
        "latency_ms_by_action": {
            labels[i]: percentiles(lat) for i, lat in enumerate(per_label) if lat
        },
        "errors": errors_window,
        "errors_detail": {
            "callerror": counters.callerrors_window,
            "timeout": counters.timeouts_window,
            "disconnect": counters.disconnects_window,
        },
        "errors_total": errors_total + counters.connect_failures + counters.boot_rejected,
        "error_samples": [e for r in results for e in r["errors"]][:10],
        "server_calls": counters.server_calls,
        "unexpected_frames": counters.unexpected_frames,
        "cpu": {
            "loadgen_s": round(loadgen_cpu, 3),
            "server_s": None if server_cpu_window is None else round(server_cpu_window, 3),
            "loadgen_cores": round(loadgen_cpu / cfg.duration, 3),
            "server_cores": None
            if server_cpu_window is None
            else round(server_cpu_window / cfg.duration, 3),
            "loadgen_share": None
            if not server_cpu_window
            else round(loadgen_cpu / (loadgen_cpu + server_cpu_window), 3),
            "loadgen_per_call_us": round(loadgen_cpu / calls * 1e6, 1) if calls else None,
            "server_per_call_us": round(server_cpu_window / calls * 1e6, 1)
            if calls and server_cpu_window is not None
            else None,
        },
        "server_rss_kb": {
            "idle": rss_idle,
            "connected": rss_connected,
            "end": rss_end,
            "per_station_kb": round((rss_connected - rss_idle) / n_booted, 2)
            if rss_idle is not None and rss_connected is not None and n_booted
            else None,
        },
    }
    return out


def summary(result: dict[str, Any]) -> str:
    """Return a short human-readable summary of one result."""
    lat = result["latency_ms"]
    cpu = result["cpu"]
    rss = result["server_rss_kb"]
    lines = [
        f"{result['mode']} {result['version']}: {result['booted']}/{result['stations']} booted "
        f"in {result['boot_all_s']:.2f} s, {result['connect_failures']} connect failures, "
        f"{result['boot_failures']} boot failures, "
        f"{result['listen_overflows']} listen overflows on the host",
        f"calls {result['calls']} in {result['window_s']:.0f} s = {result['calls_per_s']:.1f}/s, "
        f"sessions {result['sessions']}, errors {result['errors']} {result['errors_detail']}",
    ]
    if lat.get("count"):
        lines.append(
            f"latency ms p50 {lat['p50']:.2f} p90 {lat['p90']:.2f} p99 {lat['p99']:.2f} "
            f"max {lat['max']:.2f}"
        )
    lines.append(
        f"cpu: loadgen {cpu['loadgen_s']} s, server {cpu['server_s']} s, "
        f"loadgen share {cpu['loadgen_share']}"
    )
    if rss["idle"] is not None:
        lines.append(
            f"server RSS KB idle {rss['idle']} connected {rss['connected']} end {rss['end']} "
            f"per station {rss['per_station_kb']}"
        )
    if result["error_samples"]:
        lines.append("first errors: " + "; ".join(result["error_samples"][:3]))
    return "\n".join(lines)


def sample_frames(version: str) -> list[tuple[str, bytes]]:
    """Return every frame a station sends in one boot + session, as (action, frame) pairs.

    Used by the tests to validate the templates against the official OCPP JSON schemas.
    """

    class _Capture:
        def __init__(self) -> None:
            self.frames: list[tuple[int, bytes]] = []

        def write(self, data: bytes) -> None:
            self.frames.append((0, data))

        def is_closing(self) -> bool:
            return False

    loop = asyncio.new_event_loop()
    try:
        sh = Shared(Config(version=version), loop)
        station = Station(sh, "BENCH00001")
        capture = _Capture()
        station.transport = capture  # type: ignore[assignment]
        station.state = _OPEN
        station.txid = 42
        station.boot()
        for step in range(SESSION_CALLS):
            station.step = step
            station.send_step()
    finally:
        loop.close()
    frames = []
    for _, raw in capture.frames:
        payload = _unframe(raw)
        action = json.loads(payload)[2]
        frames.append((action, payload))
    return frames


def _unframe(frame: bytes) -> bytes:
    n = frame[1] & 0x7F
    offset = 2 if n < 126 else 4 if n == 126 else 10
    return frame[offset + 4 :]  # skip the (zero) masking key


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run the load, print a summary, optionally write JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.loadgen", description="OCPP load generator (see docs/benchmarks.md)"
    )
    defaults = Config()
    parser.add_argument("--url", default=defaults.url, help="ws://HOST:PORT/PATH (no identity)")
    parser.add_argument("--version", choices=sorted(VERSIONS), default=defaults.version)
    parser.add_argument("--mode", choices=["mix", "connections"], default=defaults.mode)
    parser.add_argument("--stations", type=int, default=defaults.stations)
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds")
    parser.add_argument("--warmup", type=float, default=defaults.warmup, help="seconds (mix)")
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument("--id-prefix", default=defaults.id_prefix)
    parser.add_argument("--call-timeout", type=float, default=defaults.call_timeout)
    parser.add_argument("--connect-timeout", type=float, default=defaults.connect_timeout)
    parser.add_argument("--connect-concurrency", type=int, default=defaults.connect_concurrency)
    parser.add_argument(
        "--heartbeat-interval", type=float, default=defaults.heartbeat_interval, help="seconds"
    )
    parser.add_argument(
        "--source-ips",
        type=int,
        default=defaults.source_ips,
        help="spread connections over 127.0.0.2.. (for many thousands of connections)",
    )
    parser.add_argument("--server-pid", type=int, help="server pid, for RSS and CPU figures")
    parser.add_argument("--json", help="write the result to this file")
    args = parser.parse_args(argv)
    cfg = Config(
        url=args.url,
        version=args.version,
        mode=args.mode,
        stations=args.stations,
        duration=args.duration,
        warmup=args.warmup,
        processes=args.processes,
        id_prefix=args.id_prefix,
        call_timeout=args.call_timeout,
        connect_timeout=args.connect_timeout,
        connect_concurrency=args.connect_concurrency,
        heartbeat_interval=args.heartbeat_interval,
        source_ips=args.source_ips,
        server_pid=args.server_pid,
    )
    result = run(cfg)
    print(summary(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0 if result["errors_total"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
