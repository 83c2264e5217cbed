"""Orderings the contract tests only meet by chance, forced: the charger starts its transaction
before it answers the remote start, and a node runs one OCPI layer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from kilowatt.ocpp import v16, v201
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import connect_ocpp, on
from tests.ocpi.servers import auth

from .conftest import Cpo, Emsp, Station16, Station201, register, until
from .test_contract import T0, boot16, command, results, setup_site

Hook = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


class StartsBeforeAnswering201(Station201):
    """Sends TransactionEvent Started (with the remoteStartId) and has it answered by the CSMS
    before it answers RequestStartTransaction; then awaits ``before_answer`` (the test makes
    it wait until the bridge has handled the transaction start)."""

    before_answer: Hook = staticmethod(_nothing)

    @on("RequestStartTransaction")
    async def request_start(self, request: Any) -> Any:
        self.received.append(request)
        await self.call(
            v201.TransactionEventRequest(
                event_type=v201.TransactionEvent("Started"),
                timestamp=T0,
                trigger_reason=v201.TriggerReason("RemoteStart"),
                seq_no=0,
                transaction_info=v201.Transaction(
                    transaction_id="tx-early", remote_start_id=request.remote_start_id
                ),
                evse=v201.EVSE(id=1, connector_id=1),
                meter_value=[
                    v201.MeterValue(
                        timestamp=T0,
                        sampled_value=[
                            v201.SampledValue(
                                value=Decimal(0), context=v201.ReadingContext("Transaction.Begin")
                            )
                        ],
                    )
                ],
            )
        )
        await type(self).before_answer()
        self.got.set()
        return v201.RequestStartTransactionResponse(status=v201.RequestStartStopStatus("Accepted"))


class StartsBeforeAnswering16(Station16):
    """Sends StartTransaction and has it answered before it answers RemoteStartTransaction;
    then awaits ``before_answer``."""

    before_answer: Hook = staticmethod(_nothing)

    @on(v16.RemoteStartTransactionRequest)
    async def remote_start(self, request: Any) -> Any:
        self.received.append(request)
        await self.call(
            v16.StartTransactionRequest(
                connector_id=1, id_tag=request.id_tag, meter_start=0, timestamp=T0
            )
        )
        await type(self).before_answer()
        self.got.set()
        return v16.RemoteStartTransactionResponse(status=v16.RemoteStartTransactionStatus.ACCEPTED)


async def settled(cpo: Cpo) -> None:
    """Events handled, commands resolved and every push delivered."""
    await cpo.handle.idle()
    assert cpo.handle.ocpi is not None
    store = cpo.handle.ocpi.store

    async def drained() -> bool:
        return not await store.undelivered()

    await until(drained)


def session_puts(emsp: Emsp) -> list[Any]:
    return emsp.fake.of("PUT", "/sessions/NL/KWT/")


def started_handled(cpo: Cpo) -> Hook:
    """A hook that returns once the bridge has handled every event so far (the transaction
    start included) — while the command is still waiting for the charger's answer."""
    assert cpo.handle.pump is not None
    return cpo.handle.pump.idle


async def _assert_announced_once(cpo: Cpo, emsp: Emsp, ref: str) -> None:
    await settled(cpo)
    assert results(emsp, ref) == ["ACCEPTED"]
    (put,) = session_puts(emsp)
    # The transaction start was handled first: the session is announced ACTIVE, and the
    # late "Accepted" only PATCHes it (no second PUT, no step back to PENDING).
    assert put.body["status"] == "ACTIVE"
    session_id = put.path.rsplit("/", 1)[1]
    statuses = [put.body["status"]] + [
        p.body["status"]
        for p in emsp.fake.of("PATCH", f"/sessions/NL/KWT/{session_id}")
        if "status" in p.body
    ]
    assert set(statuses) == {"ACTIVE"}


async def test_transaction_event_before_the_start_answer_one_session_one_result(
    cpo: Cpo,
    emsp: Emsp,
    http: httpx.AsyncClient,
    version: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo, "CP2")
    uid = "APPUSER0000000000000000001"
    token = dict(emsp.fake.token(uid), type="APP_USER")
    await http.put(
        f"{cpo.url}/ocpi/cpo/{version}/tokens/DE/EMS/{uid}",
        json=token,
        headers=auth(token_c),
    )
    monkeypatch.setattr(StartsBeforeAnswering201, "before_answer", started_handled(cpo))
    async with connect_ocpp(
        cpo.ocpp_url, "CP2", StartsBeforeAnswering201, versions=[OcppVersion.V201]
    ) as cs:
        await cs.call(
            v201.BootNotificationRequest(
                charging_station=v201.ChargingStation(model="M", vendor_name="V"),
                reason=v201.BootReason("PowerUp"),
            )
        )
        await cs.call(
            v201.StatusNotificationRequest(
                timestamp=T0,
                connector_status=v201.ConnectorStatus("Available"),
                evse_id=1,
                connector_id=1,
            )
        )
        body = {
            "response_url": f"{emsp.fake.base}/emsp/callback/early201",
            "token": token,
            "location_id": "LOC0",
            "evse_uid": "CP2-1",
        }
        answer = await command(http, cpo, version, token_c, "START_SESSION", body)
        assert answer["data"]["result"] == "ACCEPTED"
        await until(cs.got.wait)
        await _assert_announced_once(cpo, emsp, "early201")


async def test_start_transaction_before_the_remote_start_answer_16(
    cpo: Cpo,
    emsp: Emsp,
    http: httpx.AsyncClient,
    version: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo)
    r = await http.put(
        f"{cpo.url}/ocpi/cpo/{version}/tokens/DE/EMS/TOK1",
        json=emsp.fake.token("TOK1"),
        headers=auth(token_c),
    )
    assert r.status_code in (200, 201)
    monkeypatch.setattr(StartsBeforeAnswering16, "before_answer", started_handled(cpo))
    async with connect_ocpp(cpo.ocpp_url, "CP1", StartsBeforeAnswering16) as cp:
        await boot16(cp)
        body = {
            "response_url": f"{emsp.fake.base}/emsp/callback/early16",
            "token": emsp.fake.token("TOK1"),
            "location_id": "LOC0",
            "evse_uid": "CP1-1",
            "connector_id": "1",
        }
        answer = await command(http, cpo, version, token_c, "START_SESSION", body)
        assert answer["data"]["result"] == "ACCEPTED"
        await until(cp.got.wait)
        await _assert_announced_once(cpo, emsp, "early16")


async def test_one_ocpi_layer_per_node(cpo: Cpo) -> None:
    """The node builds OCPI itself, once: a second layer on the same database would run a
    second outbox worker and event pump, each pushing everything again."""
    paths = cpo.node.api.openapi()["paths"]
    assert "/ocpi/versions" in paths and "/api/v1/ocpi/partners" in paths
    names = [t.get_name() for t in asyncio.all_tasks()]
    assert names.count("ocpi-outbox") == 1 and names.count("ocpi-events") == 1
    assert names.count("ocpi-pending-sessions") == 1
