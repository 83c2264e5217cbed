"""Helpers of the end-to-end suite: the ``kilowatt serve`` process, the API client, a raw
OCPP-J station (exact frames, exact message ids) and polling.

No wall-clock limits: conditions are polled; ``SAFETY`` only stops a hung test.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ipaddress
import itertools
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect

API_KEY = "e2e-test-key-0123456789abcdefGHIJ"
SAFETY = 60.0  # s: a safety net against hangs only, never a performance limit
KILOWATT = Path(sys.executable).parent / "kilowatt"

T = TypeVar("T")
_LIVE: weakref.WeakSet[KilowattServer] = weakref.WeakSet()


def live_servers() -> list[KilowattServer]:
    """Servers started and not yet stopped (their logs go into failure reports)."""
    return [s for s in _LIVE if s.proc is not None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(prefix: str) -> str:
    """A station identity / token unique within a shared server."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def now_iso() -> str:
    return (
        datetime.datetime.now(datetime.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def dec(value: Any) -> Decimal:
    """An API number or decimal string as an exact Decimal (None stays a failure)."""
    assert value is not None, "expected a number, got null"
    return Decimal(str(value))


# --- TLS ----------


def make_self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed server certificate for 127.0.0.1/localhost, written as PEM (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kilowatt-e2e")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# --- the server process ----------


@dataclass(eq=False)
class KilowattServer:
    """One ``kilowatt serve`` process; ``start``/``restart`` keep the ports and data."""

    data_dir: Path
    database_url: str | None
    extra_args: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    api_key_flag: bool = True
    tls: bool = False
    flags: bool = True
    """False: host, ports, data dir and database URL go in ``KILOWATT_*`` variables instead."""
    ocpp_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    tls_cert: Path | None = None

    def __post_init__(self) -> None:
        if self.tls:
            self.tls_cert, self.tls_key = make_self_signed(self.data_dir)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/api/v1"

    def ocpp_url(self, identity: str, path: str = "ocpp") -> str:
        scheme = "wss" if self.tls else "ws"
        prefix = f"/{path}" if path else ""
        return f"{scheme}://127.0.0.1:{self.ocpp_port}{prefix}/{identity}"

    def client_ssl(self) -> ssl.SSLContext | None:
        """A client context trusting the test certificate (None without TLS)."""
        if self.tls_cert is None:
            return None
        return ssl.create_default_context(cafile=str(self.tls_cert))

    def settings(self) -> dict[str, str]:
        """Host, ports, data dir and database URL by setting name."""
        values = {
            "host": "127.0.0.1",
            "ocpp_port": str(self.ocpp_port),
            "http_port": str(self.http_port),
            "data_dir": str(self.data_dir),
        }
        if self.database_url:
            values["database_url"] = self.database_url
        return values

    def command(self) -> list[str]:
        if not self.flags:
            return [str(KILOWATT), "serve", *self.extra_args]
        cmd = [
            str(KILOWATT),
            "serve",
            "--host",
            "127.0.0.1",
            "--ocpp-port",
            str(self.ocpp_port),
            "--http-port",
            str(self.http_port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        if self.api_key_flag:
            cmd += ["--api-key", API_KEY]
        if self.tls:
            cmd += ["--tls-cert", str(self.tls_cert), "--tls-key", str(self.tls_key)]
        return cmd + self.extra_args

    def start(self) -> None:
        assert self.proc is None, "already running"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KILOWATT_")}
        if not self.flags:
            env.update({f"KILOWATT_{k.upper()}": v for k, v in self.settings().items()})
        env.update(self.extra_env)
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.data_dir,
                start_new_session=True,
            )
        _LIVE.add(self)
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        """Poll until both ports accept connections and the API answers."""
        assert self.proc is not None
        deadline = time.monotonic() + SAFETY
        while True:
            code = self.proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"kilowatt serve exited with {code} during start:\n{self.log_tail()}"
                )
            if self._ready():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"kilowatt serve did not become ready:\n{self.log_tail()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        for port in (self.ocpp_port, self.http_port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            except OSError:
                return False
        try:
            httpx.get(f"{self.api_url}/stations", timeout=5)
        except httpx.HTTPError:
            return False
        return True

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the process (SIGTERM by default) and wait; SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=SAFETY / 2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, chars: int = 20_000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return text[-chars:]


# --- API ----------


class Api:
    """An ``httpx.AsyncClient`` on ``/api/v1`` with the bearer key, plus JSON helpers."""

    def __init__(self, base_url: str, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        self.http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=SAFETY)

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, **kwargs)

    async def json(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        """Send and assert the status; return the decoded body (None when empty)."""
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path} {kwargs.get('json', '')}: expected {expect}, "
            f"got {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    async def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list endpoint, page by page (the server caps ``limit``)."""
        items: list[dict[str, Any]] = []
        while True:
            page = await self.json(
                "GET", path, params={**params, "limit": 500, "offset": len(items)}
            )
            assert isinstance(page["items"], list) and isinstance(page["total"], int), page
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                assert len(items) == page["total"], (len(items), page["total"])
                return items

    async def station(self, station_id: str) -> dict[str, Any]:
        return dict(await self.json("GET", f"/stations/{station_id}"))

    async def transactions(self, **params: Any) -> list[dict[str, Any]]:
        return await self.items("/transactions", **params)

    async def meter_values(self, transaction_id: Any) -> list[dict[str, Any]]:
        return await self.items(f"/transactions/{transaction_id}/meter-values")

    async def messages(self, station_id: str) -> list[dict[str, Any]]:
        return await self.items(f"/stations/{station_id}/messages")

    async def put_token(self, token: str, **fields: Any) -> Any:
        body = {"status": "Accepted", **fields}
        response = await self.http.put(f"/id-tokens/{token}", json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()


async def eventually(
    check: Callable[[], Awaitable[T]], *, safety: float = SAFETY, interval: float = 0.05
) -> T:
    """Await ``check`` until it stops raising AssertionError; return its value."""
    deadline = asyncio.get_running_loop().time() + safety
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(interval)


# --- a raw OCPP-J station ----------


def basic_auth(identity: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{identity}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class RawStation:
    """A minimal OCPP-J station: exact frames, exact ids; answers CSMS CALLs via ``handler``.

    ``call`` sends a CALL and returns the answer frame (CALLRESULT or CALLERROR) as a list.
    Frames whose id matches no pending call go to ``unsolicited``.
    """

    _ids = itertools.count(1)

    def __init__(
        self,
        ws: ClientConnection,
        handler: Callable[[str, dict[str, Any]], Any] | None = None,
    ) -> None:
        self.ws = ws
        self.handler = handler
        self.pending: dict[str, asyncio.Future[list[Any]]] = {}
        self.unsolicited: asyncio.Queue[Any] = asyncio.Queue()
        self.inbound_calls: list[list[Any]] = []
        self.reader = asyncio.create_task(self._read())

    @staticmethod
    def new_id() -> str:
        return f"m{next(RawStation._ids)}-{uuid.uuid4().hex[:8]}"

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for text in self.ws:
                try:
                    frame = json.loads(text)
                except ValueError:
                    await self.unsolicited.put(text)
                    continue
                if isinstance(frame, list) and frame and frame[0] == 2:
                    self.inbound_calls.append(frame)
                    await self._answer(frame)
                    continue
                if isinstance(frame, list) and len(frame) > 1:
                    future = self.pending.pop(str(frame[1]), None)
                    if future is not None and not future.done():
                        future.set_result(frame)
                        continue
                await self.unsolicited.put(frame)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))

    async def _answer(self, frame: list[Any]) -> None:
        _, msg_id, action, payload = frame
        if self.handler is None:
            answer: list[Any] = [4, msg_id, "NotSupported", f"raw station: {action}", {}]
        else:
            answer = [3, msg_id, self.handler(action, payload)]
        await self.ws.send(json.dumps(answer))

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def call(
        self, action: str, payload: dict[str, Any], msg_id: str | None = None
    ) -> list[Any]:
        msg_id = msg_id or self.new_id()
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.pending[msg_id] = future
        await self.ws.send(json.dumps([2, msg_id, action, payload]))
        async with asyncio.timeout(SAFETY):
            return await future

    async def result(self, action: str, payload: dict[str, Any], msg_id: str | None = None) -> Any:
        """``call`` that asserts a CALLRESULT and returns its payload."""
        frame = await self.call(action, payload, msg_id)
        assert frame[0] == 3, f"{action} {payload}: expected a CALLRESULT, got {frame}"
        return frame[2]

    async def next_unsolicited(self) -> Any:
        async with asyncio.timeout(SAFETY):
            return await self.unsolicited.get()

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(Exception):
            await self.reader


@contextlib.asynccontextmanager
async def raw_station(
    server: KilowattServer,
    identity: str,
    subprotocol: str = "ocpp1.6",
    *,
    password: str | None = None,
    handler: Callable[[str, dict[str, Any]], Any] | None = None,
) -> AsyncIterator[RawStation]:
    headers = basic_auth(identity, password) if password is not None else None
    async with connect(
        server.ocpp_url(identity),
        subprotocols=[subprotocol],  # type: ignore[list-item]
        additional_headers=headers,
        ssl=server.client_ssl(),
        open_timeout=SAFETY,
        max_size=None,
    ) as ws:
        assert ws.subprotocol == subprotocol, ws.subprotocol
        station = RawStation(ws, handler)
        try:
            yield station
        finally:
            await station.close()


async def boot_raw(station: RawStation, subprotocol: str) -> Any:
    if subprotocol == "ocpp1.6":
        payload: dict[str, Any] = {"chargePointVendor": "RawVendor", "chargePointModel": "Raw"}
    else:
        payload = {
            "chargingStation": {"vendorName": "RawVendor", "model": "Raw"},
            "reason": "PowerUp",
        }
    answer = await station.result("BootNotification", payload)
    assert answer["status"] == "Accepted", answer
    return answer
