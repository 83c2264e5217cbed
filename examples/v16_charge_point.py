"""OCPP 1.6 charge point: boots, sends a heartbeat, accepts a RemoteStartTransaction, exits.

Start ``v16_central_system.py`` first, then::

    python examples/v16_charge_point.py --url ws://127.0.0.1:9000 --id CP_1
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from kilowatt.ocpp import v16
from kilowatt.transport import OcppConnection, OcppVersion, StationClient, connect_ocpp, on


class MyStation(StationClient):
    """This charge point's side of the connection to the central system."""

    def __init__(self, connection: OcppConnection) -> None:
        super().__init__(connection)
        self.remote_started = asyncio.Event()

    @on(v16.RemoteStartTransactionRequest)
    def on_remote_start(
        self, request: v16.RemoteStartTransactionRequest
    ) -> v16.RemoteStartTransactionResponse:
        print(f"RemoteStartTransaction for {request.id_tag}", flush=True)
        self.remote_started.set()
        return v16.RemoteStartTransactionResponse(status=v16.RemoteStartTransactionStatus.ACCEPTED)


async def run(url: str, identity: str = "CP_1") -> MyStation:
    """Connect, boot, heartbeat once, wait for the remote start; return the station."""
    async with connect_ocpp(url, identity, MyStation, versions=[OcppVersion.V16]) as station:
        boot = await station.call(
            v16.BootNotificationRequest(charge_point_vendor="Kilowatt", charge_point_model="Demo")
        )
        print(f"BootNotification: {boot.status}, heartbeat every {boot.interval} s", flush=True)
        beat = await station.call(v16.HeartbeatRequest())
        print(f"Heartbeat: {beat.current_time}", flush=True)
        await station.remote_started.wait()
        return station


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9000")
    parser.add_argument("--id", default="CP_1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run(args.url, args.id))
