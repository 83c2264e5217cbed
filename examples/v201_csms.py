"""OCPP 2.0.1 CSMS: accepts BootNotification and Heartbeat, then RequestStartTransaction.

Run it, then start ``v201_charging_station.py`` in another terminal::

    python examples/v201_csms.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import UTC, datetime

from kilowatt.ocpp import v201
from kilowatt.transport import OcppServer, OcppVersion, StationPeer, after, on, serve_ocpp


def now() -> str:
    """The current time as an OCPP dateTime (RFC 3339, UTC)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class MyChargingStation(StationPeer):
    """One connected charging station, as the CSMS sees it."""

    remote_start_status: v201.RequestStartStopStatus | None = None

    @on(v201.BootNotificationRequest)
    async def on_boot(self, request: v201.BootNotificationRequest) -> v201.BootNotificationResponse:
        vendor = request.charging_station.vendor_name
        print(f"{self.identity}: BootNotification from {vendor} ({request.reason})", flush=True)
        return v201.BootNotificationResponse(
            status=v201.RegistrationStatus.ACCEPTED, current_time=now(), interval=10
        )

    @on(v201.HeartbeatRequest)
    def on_heartbeat(self, request: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
        return v201.HeartbeatResponse(current_time=now())

    @after(v201.BootNotificationRequest)
    async def start_charging(self, request: v201.BootNotificationRequest) -> None:
        response = await self.call(
            v201.RequestStartTransactionRequest(
                id_token=v201.IdToken(id_token="TAG-0001", type=v201.AuthorizeIdToken.ISO14443),
                remote_start_id=1,
                evse_id=1,
            ),
            timeout=10,
        )
        self.remote_start_status = response.status
        print(f"{self.identity}: RequestStartTransaction {response.status}", flush=True)


def create_server(host: str = "127.0.0.1", port: int = 9000) -> OcppServer[MyChargingStation]:
    """The server of this example; ``async with`` it to listen (port 0: any free port)."""
    return serve_ocpp(MyChargingStation, host, port, versions=[OcppVersion.V201])


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
