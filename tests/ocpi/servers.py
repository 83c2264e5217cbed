"""Test helpers: uvicorn servers on loopback, a fake clock, a fake eMSP, a simulated station."""

from __future__ import annotations

import asyncio
import base64
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kilowatt.ocpi.models.common import CommandResultType, CommandType
from kilowatt.ocpi.protocols import Command, CommandTimeout, StationOffline


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A uvicorn server running ``app`` in a background task on 127.0.0.1."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Server:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = None
            self._task = None


class FakeClock:
    """A settable clock (aware UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def env(data: Any = None) -> dict[str, Any]:
    return {"data": data, "status_code": 1000, "timestamp": "2026-03-02T10:00:00Z"}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeEmsp:
    """An eMSP speaking one OCPI version, as a FastAPI app (run it with :class:`Server`)."""

    version: str
    country_code: str = "DE"
    party_id: str = "EMS"
    base: str = ""
    accepted_tokens: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    authorizations: dict[str, str] = field(default_factory=dict)
    their_token_for_cpo: str | None = None

    def app(self) -> FastAPI:
        app = FastAPI()
        v = self.version

        def check(request: Request) -> JSONResponse | None:
            header = request.headers.get("Authorization", "")
            token = base64.b64decode(header.removeprefix("Token ")).decode() if header else ""
            if token not in self.accepted_tokens:
                return JSONResponse({"status_code": 2000, "timestamp": "x"}, 401)
            return None

        async def record(request: Request) -> JSONResponse:
            denied = check(request)
            if denied:
                return denied
            raw = await request.body()
            import json

            self.received.append(
                Received(
                    request.method,
                    request.url.path,
                    dict(request.headers),
                    json.loads(raw) if raw else None,
                )
            )
            return JSONResponse(env(None))

        @app.get("/emsp/versions")
        async def versions(request: Request) -> JSONResponse:
            return check(request) or JSONResponse(
                env([{"version": v, "url": f"{self.base}/emsp/{v}"}])
            )

        @app.get(f"/emsp/{v}")
        async def details(request: Request) -> JSONResponse:
            b = f"{self.base}/emsp/{v}"
            endpoints = [
                {"identifier": "credentials", "role": "RECEIVER", "url": f"{b}/credentials"},
                {"identifier": "locations", "role": "RECEIVER", "url": f"{b}/locations"},
                {"identifier": "sessions", "role": "RECEIVER", "url": f"{b}/sessions"},
                {"identifier": "cdrs", "role": "RECEIVER", "url": f"{b}/cdrs"},
                {"identifier": "tariffs", "role": "RECEIVER", "url": f"{b}/tariffs"},
                {"identifier": "tokens", "role": "SENDER", "url": f"{b}/tokens"},
                {"identifier": "commands", "role": "SENDER", "url": f"{b}/commands"},
            ]
            return check(request) or JSONResponse(env({"version": v, "endpoints": endpoints}))

        @app.post(f"/emsp/{v}/credentials")
        async def credentials(request: Request) -> JSONResponse:
            """CPO-initiated registration: check the CPO's versions with its token, answer."""
            denied = check(request)
            if denied:
                return denied
            body = await request.json()
            async with httpx.AsyncClient() as client:
                r = await client.get(body["url"], headers=auth(body["token"]))
                assert r.status_code == 200, r.text
            self.cpo_token = body["token"]
            self.cpo_credentials = body
            new = "emsp-C-" + uuid.uuid4().hex
            self.accepted_tokens = {new}
            self.their_token_for_cpo = new
            return JSONResponse(env(self.credentials(new)))

        @app.post(f"/emsp/{v}/tokens/{{uid}}/authorize")
        async def authorize(request: Request, uid: str) -> JSONResponse:
            denied = check(request)
            if denied:
                return denied
            self.received.append(
                Received("POST", request.url.path, dict(request.headers), await request.body())
            )
            if uid not in self.authorizations:
                return JSONResponse({"status_code": 2004, "timestamp": "x"}, 404)
            token = self.token(uid)
            return JSONResponse(
                env(
                    {
                        "allowed": self.authorizations[uid],
                        "token": token,
                        "authorization_reference": "auth-" + uid,
                    }
                )
            )

        for path in (
            f"/emsp/{v}/locations/{{cc}}/{{pid}}/{{loc}}",
            f"/emsp/{v}/locations/{{cc}}/{{pid}}/{{loc}}/{{evse}}",
            f"/emsp/{v}/sessions/{{cc}}/{{pid}}/{{sid}}",
            f"/emsp/{v}/tariffs/{{cc}}/{{pid}}/{{tid}}",
        ):
            app.add_api_route(path, record, methods=["PUT", "PATCH"])
        app.add_api_route(f"/emsp/{v}/cdrs", record, methods=["POST"])
        app.add_api_route("/emsp/callback/{ref}", record, methods=["POST"])
        return app

    def credentials(self, token: str) -> dict[str, Any]:
        return {
            "token": token,
            "url": f"{self.base}/emsp/versions",
            "roles": [
                {
                    "role": "EMSP",
                    "business_details": {"name": "Fake eMSP"},
                    "party_id": self.party_id,
                    "country_code": self.country_code,
                }
            ],
        }

    def token(self, uid: str, whitelist: str = "ALLOWED", valid: bool = True) -> dict[str, Any]:
        return {
            "country_code": self.country_code,
            "party_id": self.party_id,
            "uid": uid,
            "type": "RFID",
            "contract_id": f"{self.country_code}-{self.party_id}-C{uid}",
            "issuer": "Fake eMSP",
            "valid": valid,
            "whitelist": whitelist,
            "last_updated": "2026-03-01T09:00:00Z",
        }

    def of(self, method: str, fragment: str) -> list[Received]:
        return [r for r in self.received if r.method == method and fragment in r.path]


class SimulatedStation:
    """A CommandExecutor speaking OCPP-J 1.6 frames to a simulated charge point task.

    Each command becomes its own CALL ``[2, <command id>, action, payload]``; the station
    answers ``[3, <same id>, {"status": ...}]`` and the answer is matched to its command by id.
    ``mode``: ``accept``, ``reject``, ``offline`` (not connected), ``silent`` (never answers),
    ``timeout`` (the OCPP layer reports a timeout).
    """

    ACTIONS: ClassVar[dict[CommandType, str]] = {
        CommandType.START_SESSION: "RemoteStartTransaction",
        CommandType.STOP_SESSION: "RemoteStopTransaction",
        CommandType.RESERVE_NOW: "ReserveNow",
        CommandType.CANCEL_RESERVATION: "CancelReservation",
        CommandType.UNLOCK_CONNECTOR: "UnlockConnector",
    }

    def __init__(self, mode: str = "accept") -> None:
        self.mode = mode
        self.frames: list[list[Any]] = []
        self._pending: dict[str, asyncio.Future[list[Any]]] = {}
        self._inbox: asyncio.Queue[list[Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.transaction_ids: dict[str, int] = {}

    async def _charge_point(self) -> None:
        while True:
            frame = await self._inbox.get()
            self.frames.append(frame)
            if self.mode == "silent":
                continue
            status = "Accepted" if self.mode == "accept" else "Rejected"
            if frame[2] == "UnlockConnector":
                status = "Unlocked" if self.mode == "accept" else "UnlockFailed"
            self._pending.pop(frame[1]).set_result([3, frame[1], {"status": status}])

    async def can_execute(self, command: Command) -> bool:
        return True

    async def execute(self, command: Command) -> CommandResultType:
        if self._task is None:
            self._task = asyncio.create_task(self._charge_point())
        if self.mode == "offline":
            raise StationOffline(command.id)
        if self.mode == "timeout":
            raise CommandTimeout(command.id)
        req = command.request
        payload: dict[str, Any] = {}
        if command.type is CommandType.START_SESSION:
            payload = {"idTag": req.token.uid[:20], "connectorId": 1}  # type: ignore[union-attr]
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending[command.id] = future
        await self._inbox.put([2, command.id, self.ACTIONS[command.type], payload])
        answer = await future
        assert answer[1] == command.id
        status = answer[2]["status"]
        return (
            CommandResultType.ACCEPTED
            if status in ("Accepted", "Unlocked")
            else CommandResultType.REJECTED
        )

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
