"""OCPP 1.6 central system (CSMS): accepts BootNotification and Heartbeat, then remote-starts.

Run it, then start ``v16_charge_point.py`` in another terminal::

    python examples/v16_central_system.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import UTC, datetime

from kilowatt.ocpp import v16
from kilowatt.transport import OcppServer, OcppVersion, StationPeer, after, on, serve_ocpp


def now() -> str:
    """The current time as an OCPP dateTime (RFC 3339, UTC)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class MyChargePoint(StationPeer):
    """One connected charge point, as the central system sees it."""

    remote_start_status: v16.RemoteStartTransactionStatus | None = None

    @on(v16.BootNotificationRequest)
    async def on_boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        print(f"{self.identity}: BootNotification from {request.charge_point_vendor}", flush=True)
        return v16.BootNotificationResponse(
            status=v16.BootNotificationStatus.ACCEPTED, current_time=now(), interval=10
        )

    @on(v16.HeartbeatRequest)
    def on_heartbeat(self, request: v16.HeartbeatRequest) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time=now())

    @after(v16.BootNotificationRequest)
    async def start_charging(self, request: v16.BootNotificationRequest) -> None:
        # Runs once the BootNotification answer is on its way: now ask for a session.
        response = await self.call(
            v16.RemoteStartTransactionRequest(id_tag="TAG-0001", connector_id=1), timeout=10
        )
        self.remote_start_status = response.status
        print(f"{self.identity}: RemoteStartTransaction {response.status}", flush=True)


def create_server(host: str = "127.0.0.1", port: int = 9000) -> OcppServer[MyChargePoint]:
    """The server of this example; ``async with`` it to listen (port 0: any free port)."""
    return serve_ocpp(MyChargePoint, host, port, versions=[OcppVersion.V16])


async def main(host: str, port: int) -> None:
    async with create_server(host, port) as server:
        print(f"listening on ws://{host}:{server.port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(args.host, args.port))
