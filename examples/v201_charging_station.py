"""OCPP 2.0.1 charging station: boots, heartbeats once, accepts RequestStartTransaction, exits.

Start ``v201_csms.py`` first, then::

    python examples/v201_charging_station.py --url ws://127.0.0.1:9000 --id CS_1
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from kilowatt.ocpp import v201
from kilowatt.transport import OcppConnection, OcppVersion, StationClient, connect_ocpp, on


class MyStation(StationClient):
    """This station's side of the connection to the CSMS."""

    def __init__(self, connection: OcppConnection) -> None:
        super().__init__(connection)
        self.remote_started = asyncio.Event()

    @on(v201.RequestStartTransactionRequest)
    def on_request_start(
        self, request: v201.RequestStartTransactionRequest
    ) -> v201.RequestStartTransactionResponse:
        print(f"RequestStartTransaction for {request.id_token.id_token}", flush=True)
        self.remote_started.set()
        return v201.RequestStartTransactionResponse(status=v201.RequestStartStopStatus.ACCEPTED)


async def run(url: str, identity: str = "CS_1") -> MyStation:
    """Connect, boot, heartbeat once, wait for the remote start; return the station."""
    async with connect_ocpp(url, identity, MyStation, versions=[OcppVersion.V201]) as station:
        boot = await station.call(
            v201.BootNotificationRequest(
                charging_station=v201.ChargingStation(model="Demo", vendor_name="Kilowatt"),
                reason=v201.BootReason.POWER_UP,
            )
        )
        print(f"BootNotification: {boot.status}, heartbeat every {boot.interval} s", flush=True)
        beat = await station.call(v201.HeartbeatRequest())
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
