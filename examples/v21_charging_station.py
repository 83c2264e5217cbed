"""OCPP 2.1 charging station: boots, heartbeats once, accepts RequestStartTransaction, exits.

Start ``v21_csms.py`` first, then::

    python examples/v21_charging_station.py --url ws://127.0.0.1:9000 --id CS_1
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from kilowatt.ocpp import v21
from kilowatt.transport import OcppConnection, OcppVersion, StationClient, connect_ocpp, on


class MyStation(StationClient):
    """This station's side of the connection to the CSMS."""

    def __init__(self, connection: OcppConnection) -> None:
        super().__init__(connection)
        self.remote_started = asyncio.Event()

    @on(v21.RequestStartTransactionRequest)
    def on_request_start(
        self, request: v21.RequestStartTransactionRequest
    ) -> v21.RequestStartTransactionResponse:
        print(f"RequestStartTransaction for {request.id_token.id_token}", flush=True)
        self.remote_started.set()
        return v21.RequestStartTransactionResponse(status=v21.RequestStartStopStatus.ACCEPTED)


async def run(url: str, identity: str = "CS_1") -> MyStation:
    """Connect, boot, heartbeat once, wait for the remote start; return the station."""
    async with connect_ocpp(url, identity, MyStation, versions=[OcppVersion.V21]) as station:
        boot = await station.call(
            v21.BootNotificationRequest(
                charging_station=v21.ChargingStation(model="Demo", vendor_name="Kilowatt"),
                reason=v21.BootReason.POWER_UP,
            )
        )
        print(f"BootNotification: {boot.status}, heartbeat every {boot.interval} s", flush=True)
        beat = await station.call(v21.HeartbeatRequest())
        print(f"Heartbeat: {beat.current_time}", flush=True)
        await station.remote_started.wait()
        return station


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9000")
    parser.add_argument("--id", default="CS_1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run(args.url, args.id))
