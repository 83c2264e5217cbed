"""Sessions/CDRs private to their eMSP, PENDING → INVALID, reservations, 2.0.1 STOP_SESSION:
a fake eMSP (HTTP on loopback) against a Kilowatt node with real OCPP stations; 2.2.1 and 2.3.0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
import pytest

from kilowatt.ocpp import v16, v201
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import connect_ocpp
from tests.ocpi.servers import FakeEmsp, Server, auth

from .conftest import Cpo, CpoFactory, Emsp, Station16, Station201, register, until
from .test_contract import T0, boot16, command, mod, results, setup_site


@pytest.fixture
async def emsp2(version: str) -> AsyncIterator[Emsp]:
    """A second eMSP, party DE*OTH."""
    fake = FakeEmsp(version, party_id="OTH")
    server = Server(fake.app())
    fake.base = server.url
    await server.start()
    e = Emsp(fake, server)
    yield e
    await e.server.stop()


async def push_token(
    http: httpx.AsyncClient, cpo: Cpo, version: str, emsp: Emsp, token_c: str, uid: str
) -> None:
    f = emsp.fake
    r = await http.put(
        f"{mod(cpo, version, 'tokens')}/{f.country_code}/{f.party_id}/{uid}",
        json=f.token(uid),
        headers=auth(token_c),
    )
    assert r.status_code in (200, 201) and r.json()["status_code"] == 1000, r.text


async def get_list(
    http: httpx.AsyncClient, url: str, token: str, **headers: str
) -> tuple[list[dict[str, Any]], int]:
    r = await http.get(url, headers={**auth(token), **headers})
    assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text
    return r.json()["data"], int(r.headers["X-Total-Count"])


async def test_sessions_and_cdrs_only_for_their_emsp(
    cpo: Cpo, emsp: Emsp, emsp2: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    token1 = await register(cpo, emsp, http)
    token2 = await register(cpo, emsp2, http)
    await setup_site(cpo)
    await push_token(http, cpo, version, emsp, token1, "TOK1")
    await push_token(http, cpo, version, emsp2, token2, "TOK2")
    async with connect_ocpp(cpo.ocpp_url, "CP1", Station16) as cp:
        await boot16(cp)
        sessions: dict[str, str] = {}
        for n, (uid, fake) in enumerate((("TOK1", emsp.fake), ("TOK2", emsp2.fake))):
            start = await cp.call(
                v16.StartTransactionRequest(
                    connector_id=1, id_tag=uid, meter_start=1000, timestamp=T0
                )
            )
            assert start.id_tag_info.status == v16.IdTagInfoStatus.ACCEPTED
            (put,) = await until(partial(fake.of, "PUT", "/sessions/NL/KWT/"))
            sessions[uid] = put.path.rsplit("/", 1)[1]
            assert put.body["cdr_token"]["party_id"] == fake.party_id
            if n == 1:
                # STOP_SESSION of another eMSP's session: UNKNOWN_SESSION, nothing sent.
                cp.got.clear()
                body = {
                    "response_url": f"{emsp.fake.base}/emsp/callback/steal",
                    "session_id": sessions["TOK2"],
                }
                answer = await command(http, cpo, version, token1, "STOP_SESSION", body)
                assert answer["data"]["result"] == "UNKNOWN_SESSION"
                assert not cp.got.is_set()
            await cp.call(
                v16.StopTransactionRequest(
                    meter_stop=3000,
                    timestamp="2026-03-02T11:00:00Z",
                    transaction_id=start.transaction_id,
                )
            )
            await until(partial(fake.of, "POST", f"/emsp/{version}/cdrs"))
    # Each eMSP pulls only its own sessions and CDRs, totals included.
    for token, uid, fake in ((token1, "TOK1", emsp.fake), (token2, "TOK2", emsp2.fake)):
        data, total = await get_list(http, mod(cpo, version, "sessions"), token)
        assert [s["id"] for s in data] == [sessions[uid]] and total == 1
        assert data[0]["cdr_token"]["uid"] == uid
        data, total = await get_list(http, mod(cpo, version, "cdrs"), token)
        assert [c["session_id"] for c in data] == [sessions[uid]] and total == 1
        # Routing headers naming the sender: its own party is fine ...
        own = {"OCPI-from-country-code": "DE", "OCPI-from-party-id": fake.party_id}
        data, _ = await get_list(http, mod(cpo, version, "sessions"), token, **own)
        assert [s["id"] for s in data] == [sessions[uid]]
    # ... another party's, with someone else's credentials, shows nothing.
    other = {"OCPI-from-country-code": "DE", "OCPI-from-party-id": "OTH"}
    for module in ("sessions", "cdrs"):
        data, total = await get_list(http, mod(cpo, version, module), token1, **other)
        assert data == [] and total == 0
    # Nothing of one eMSP was pushed to the other.
    assert not emsp.fake.of("PUT", sessions["TOK2"])
    assert not emsp2.fake.of("PUT", sessions["TOK1"])


async def test_reserve_now_then_cancel_reservation(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    """OCPI string reservation ids map to OCPP integers: ReserveNow and CancelReservation
    reach the charger with the same integer; both results ACCEPTED."""
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo)
    await push_token(http, cpo, version, emsp, token_c, "TOK1")
    async with connect_ocpp(cpo.ocpp_url, "CP1", Station16) as cp:
        await boot16(cp)
        reserve = {
            "response_url": f"{emsp.fake.base}/emsp/callback/reserve",
            "token": emsp.fake.token("TOK1"),
            "expiry_date": "2030-01-01T12:00:00Z",
            "reservation_id": "RES-abc-1",
            "location_id": "LOC0",
            "evse_uid": "CP1-1",
        }
        answer = await command(http, cpo, version, token_c, "RESERVE_NOW", reserve)
        assert answer["status_code"] == 1000 and answer["data"]["result"] == "ACCEPTED"
        assert await until(lambda: results(emsp, "reserve")) == ["ACCEPTED"]
        (request,) = cp.received
        assert isinstance(request, v16.ReserveNowRequest)
        assert request.connector_id == 1 and request.id_tag == "TOK1"
        number = request.reservation_id
        assert isinstance(number, int) and number > 0
        cancel = {
            "response_url": f"{emsp.fake.base}/emsp/callback/cancel",
            "reservation_id": "RES-abc-1",
        }
        answer = await command(http, cpo, version, token_c, "CANCEL_RESERVATION", cancel)
        assert answer["status_code"] == 1000 and answer["data"]["result"] == "ACCEPTED"
        assert await until(lambda: results(emsp, "cancel")) == ["ACCEPTED"]
        assert len(cp.received) == 2
        assert isinstance(cp.received[1], v16.CancelReservationRequest)
        assert cp.received[1].reservation_id == number
        # An id the eMSP never reserved: UNKNOWN_RESERVATION, nothing sent.
        cancel.update(reservation_id="RES-none", response_url=f"{emsp.fake.base}/emsp/callback/c2")
        answer = await command(http, cpo, version, token_c, "CANCEL_RESERVATION", cancel)
        assert answer["data"]["result"] == "ACCEPTED"
        assert await until(lambda: results(emsp, "c2")) == ["UNKNOWN_RESERVATION"]
        assert len(cp.received) == 2


async def test_stop_session_on_an_ocpp201_station(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    """STOP_SESSION → RequestStopTransaction with the station's own transaction id."""
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo, "CP2")
    await push_token(http, cpo, version, emsp, token_c, "TOK201")
    async with connect_ocpp(cpo.ocpp_url, "CP2", Station201, versions=[OcppVersion.V201]) as cs:
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
            "response_url": f"{emsp.fake.base}/emsp/callback/start",
            "token": emsp.fake.token("TOK201"),
            "location_id": "LOC0",
            "evse_uid": "CP2-1",
        }
        answer = await command(http, cpo, version, token_c, "START_SESSION", body)
        assert answer["data"]["result"] == "ACCEPTED"
        await until(cs.got.wait)
        start = cs.received[0]
        assert await until(lambda: results(emsp, "start")) == ["ACCEPTED"]
        await cs.call(
            v201.TransactionEventRequest(
                event_type=v201.TransactionEvent("Started"),
                timestamp=T0,
                trigger_reason=v201.TriggerReason("RemoteStart"),
                seq_no=0,
                transaction_info=v201.Transaction(
                    transaction_id="station-tx-77", remote_start_id=start.remote_start_id
                ),
                id_token=v201.IdToken(id_token="TOK201", type=v201.AuthorizeIdToken("ISO14443")),
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
        (put,) = await until(partial(emsp.fake.of, "PUT", "/sessions/NL/KWT/"))
        session_id = put.path.rsplit("/", 1)[1]

        def active() -> bool:
            if put.body["status"] == "ACTIVE":
                return True
            patches = emsp.fake.of("PATCH", f"/sessions/NL/KWT/{session_id}")
            return any(p.body.get("status") == "ACTIVE" for p in patches)

        await until(active)
        cs.got.clear()
        stop = {"response_url": f"{emsp.fake.base}/emsp/callback/stop", "session_id": session_id}
        answer = await command(http, cpo, version, token_c, "STOP_SESSION", stop)
        assert answer["data"]["result"] == "ACCEPTED"
        await until(cs.got.wait)
        request = cs.received[-1]
        assert request.transaction_id == "station-tx-77"
        assert await until(lambda: results(emsp, "stop")) == ["ACCEPTED"]


async def test_pending_session_without_transaction_becomes_invalid(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    """START_SESSION accepted by the charger, no transaction within
    ``pending_session_timeout``: the session is PATCHed INVALID and never linked later."""
    cpo = await make_cpo(pending_session_timeout=0.2, pending_session_sweep=0.05)
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo)
    await push_token(http, cpo, version, emsp, token_c, "TOK1")
    async with connect_ocpp(cpo.ocpp_url, "CP1", Station16) as cp:
        await boot16(cp)
        body = {
            "response_url": f"{emsp.fake.base}/emsp/callback/start",
            "token": emsp.fake.token("TOK1"),
            "location_id": "LOC0",
            "evse_uid": "CP1-1",
            "connector_id": "1",
        }
        answer = await command(http, cpo, version, token_c, "START_SESSION", body)
        assert answer["data"]["result"] == "ACCEPTED"
        assert await until(lambda: results(emsp, "start")) == ["ACCEPTED"]
        (put,) = await until(partial(emsp.fake.of, "PUT", "/sessions/NL/KWT/"))
        assert put.body["status"] == "PENDING"
        session_id = put.path.rsplit("/", 1)[1]

        def invalid() -> list[Any]:
            patches = emsp.fake.of("PATCH", f"/sessions/NL/KWT/{session_id}")
            return [p for p in patches if p.body.get("status") == "INVALID"]

        (patch,) = await until(invalid)
        assert "last_updated" in patch.body
        data, _ = await get_list(http, mod(cpo, version, "sessions"), token_c)
        assert [(s["id"], s["status"]) for s in data] == [(session_id, "INVALID")]
        # A transaction starting now is not linked to the INVALID session.
        start = await cp.call(
            v16.StartTransactionRequest(connector_id=1, id_tag="TOK1", meter_start=0, timestamp=T0)
        )
        await cpo.handle.idle()
        await cp.call(
            v16.StopTransactionRequest(
                meter_stop=10, timestamp=T0, transaction_id=start.transaction_id
            )
        )
        await cpo.handle.idle()
        later = emsp.fake.of("PATCH", f"/sessions/NL/KWT/{session_id}")
        assert [p.body["status"] for p in later] == ["INVALID"]
        assert cpo.handle.sessions is not None
        assert await cpo.handle.sessions.expire_pending() == 0
