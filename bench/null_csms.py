"""A CSMS that does nothing: it calibrates the load generator, not a server worth measuring.

It answers every CALL at once with a canned CALLRESULT (an accepted BootNotification, an
incrementing transactionId for a 1.6 StartTransaction, ``{}`` otherwise), parsing only the
message id and action, with no validation and no storage, on uvloop. Driving it shows the
load generator's own ceiling and its CPU cost per call when the server costs next to nothing
(see docs/benchmarks.md, "Calibrating the load generator").

Run it with::

    .venv/bin/python -m bench.null_csms --port 9190
"""

from __future__ import annotations

import argparse
import asyncio
from itertools import count

import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

_BOOT = '[3,"%s",{"status":"Accepted","currentTime":"2024-01-01T00:00:00Z","interval":300}]'
_START = '[3,"%s",{"transactionId":%d,"idTagInfo":{"status":"Accepted"}}]'
_EMPTY = '[3,"%s",{}]'
_transaction_ids = count(1)


async def handler(connection: ServerConnection) -> None:
    """Answer each CALL of one station with a canned CALLRESULT."""
    async for message in connection:
        text = message if isinstance(message, str) else message.decode()
        q = text.index('"')
        message_id = text[q + 1 : text.index('"', q + 1)]
        if '"StartTransaction"' in text:
            await connection.send(_START % (message_id, next(_transaction_ids)))
        elif '"BootNotification"' in text:
            await connection.send(_BOOT % message_id)
        else:
            await connection.send(_EMPTY % message_id)


async def main(host: str, port: int) -> None:
    """Serve forever."""
    protocols = [Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")]
    async with serve(handler, host, port, subprotocols=protocols, compression=None):
        await asyncio.Future()


def cli() -> None:
    """Parse ``--host`` and ``--port`` and serve."""
    parser = argparse.ArgumentParser(description="null CSMS for calibrating bench.loadgen")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9190)
    args = parser.parse_args()
    uvloop.run(main(args.host, args.port))


if __name__ == "__main__":
    cli()
