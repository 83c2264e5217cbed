"""OCPP 2.1 CSMS: accepts BootNotification and Heartbeat, then RequestStartTransaction.

Run it, then start ``v21_charging_station.py`` in another terminal::

    python examples/v21_csms.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import UTC, datetime

from kilowatt.ocpp import v21
from kilowatt.transport import OcppServer, OcppVersion, StationPeer, after, on, serve_ocpp


def now() -> str:
    """The current time as an OCPP dateTime (RFC 3339, UTC)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class MyChargingStation(StationPeer):
    """One connected charging station, as the CSMS sees it."""

    remote_start_status: v21.RequestStartStopStatus | None = None

    @on(v21.BootNotificationRequest)
    async def on_boot(self, request: v21.BootNotificationRequest) -> v21.BootNotificationResponse:
        vendor = request.charging_station.vendor_name
        print(f"{self.identity}: BootNotification from {vendor} ({request.reason})", flush=True)
        return v21.BootNotificationResponse(
            status=v21.RegistrationStatus.ACCEPTED, current_time=now(), interval=10
        )

    @on(v21.HeartbeatRequest)
    def on_heartbeat(self, request: v21.HeartbeatRequest) -> v21.HeartbeatResponse:
        return v21.HeartbeatResponse(current_time=now())

    @after(v21.BootNotificationRequest)
    async def start_charging(self, request: v21.BootNotificationRequest) -> None:
        response = await self.call(
            v21.RequestStartTransactionRequest(
                id_token=v21.IdToken(id_token="TAG-0001", type="ISO14443"),
                remote_start_id=1,
                evse_id=1,
            ),
            timeout=10,
        )
        self.remote_start_status = response.status
        print(f"{self.identity}: RequestStartTransaction {response.status}", flush=True)


def create_server(host: str = "127.0.0.1", port: int = 9000) -> OcppServer[MyChargingStation]:
    """The server of this example; ``async with`` it to listen (port 0: any free port)."""
    return serve_ocpp(MyChargingStation, host, port, versions=[OcppVersion.V21])


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
