"""Acceptance of issue 5 end to end: a fake eMSP (HTTP on loopback) against a Kilowatt node whose
stations are real OCPP clients over loopback; OCPI 2.2.1 and 2.3.0."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx

from kilowatt.ocpp import v16, v201
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import connect_ocpp
from tests.ocpi.servers import auth

from .conftest import Cpo, CpoFactory, Emsp, Station16, Station201, register, until

T0 = "2026-03-02T10:00:00Z"

TARIFF = {
    "id": "AC-STANDARD",
    "currency": "EUR",
    "is_default": True,
    "elements": [
        {"price_components": [{"type": "FLAT", "price": "0.50", "vat": 20, "step_size": 0}]},
        {"price_components": [{"type": "ENERGY", "price": "0.30", "vat": 20, "step_size": 1}]},
    ],
}


def location_body(i: int) -> dict[str, Any]:
    return {
        "id": f"LOC{i}",
        "name": f"Site {i}",
        "address": f"Street {i}",
        "city": "Utrecht",
        "postal_code": "3511",
        "country": "NLD",
        "coordinates": {"latitude": "52.0907", "longitude": "5.1214"},
        "time_zone": "Europe/Amsterdam",
        "parking_type": "ON_STREET",
        "facilities": ["CAFE"],
        "opening_times": {"twentyfourseven": True},
    }


def mod(cpo: Cpo, version: str, module: str) -> str:
    return f"{cpo.url}/ocpi/cpo/{version}/{module}"


async def setup_site(cpo: Cpo, station_id: str = "CP1") -> None:
    """Three tariffs (one default), three locations; the station stands at LOC0."""
    for i, tid in enumerate(["AC-STANDARD", "T-NIGHT", "T-FAST"]):
        body = dict(TARIFF, id=tid, is_default=i == 0)
        assert (await cpo.api.post("/api/v1/tariffs", json=body)).status_code == 201
    for i in range(3):
        r = await cpo.api.post("/api/v1/locations", json=location_body(i))
        assert r.status_code == 201, r.text
    r = await cpo.api.post("/api/v1/stations", json={"id": station_id, "location_id": "LOC0"})
    assert r.status_code == 201, r.text
    r = await cpo.api.patch(
        f"/api/v1/stations/{station_id}/evses/1/connectors/1",
        json={
            "standard": "IEC_62196_T2",
            "format": "CABLE",
            "power_type": "AC_3_PHASE",
            "max_voltage": 400,
            "max_amperage": 16,
            "max_electric_power": 11000,
        },
    )
    assert r.status_code == 200, r.text


async def boot16(cp: Any) -> None:
    await cp.call(
        v16.BootNotificationRequest(charge_point_vendor="Acme", charge_point_model="AC 11")
    )
    await cp.call(
        v16.StatusNotificationRequest(
            connector_id=1,
            error_code=v16.StatusNotificationErrorCode.NO_ERROR,
            status=v16.StatusNotificationStatus.AVAILABLE,
            timestamp=T0,
        )
    )


async def pull_all(http: httpx.AsyncClient, url: str, token: str) -> list[dict[str, Any]]:
    """Follow ``Link: rel="next"`` to the end; checks the pagination headers on the way."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        r = await http.get(next_url, headers=auth(token))
        assert r.status_code == 200 and r.json()["status_code"] == 1000, r.text
        assert r.headers["X-Limit"] == "2"
        items.extend(r.json()["data"])
        match = re.match(r'<([^>]+)>; rel="next"', r.headers.get("Link", ""))
        next_url = match.group(1) if match else None
        assert int(r.headers["X-Total-Count"]) >= len(items)
    return items


async def command(
    http: httpx.AsyncClient, cpo: Cpo, version: str, token: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    r = await http.post(f"{mod(cpo, version, 'commands')}/{name}", json=body, headers=auth(token))
    assert r.status_code in (200, 404), r.text
    result: dict[str, Any] = r.json()
    return result


def results(emsp: Emsp, ref: str) -> list[Any]:
    return [r.body["result"] for r in emsp.fake.of("POST", f"/emsp/callback/{ref}")]


async def test_full_flow_remote_start_session_cdr(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo)
    async with connect_ocpp(cpo.ocpp_url, "CP1", Station16) as cp:
        await boot16(cp)
        # Pull locations and tariffs with pagination (server cap 2).
        locations = await pull_all(http, mod(cpo, version, "locations"), token_c)
        assert [loc["id"] for loc in locations] == ["LOC0", "LOC1", "LOC2"]
        (evse,) = locations[0]["evses"]
        assert evse["uid"] == "CP1-1" and evse["evse_id"] == "NL*KWT*ECP1*1"
        assert evse["status"] == "AVAILABLE"
        connector = evse["connectors"][0]
        assert connector["format"] == "CABLE" and connector["max_electric_power"] == 11000
        assert connector["tariff_ids"] == ["AC-STANDARD"]
        assert locations[0]["country"] == "NLD" and locations[0]["parking_type"] == "ON_STREET"
        tariffs = await pull_all(http, mod(cpo, version, "tariffs"), token_c)
        assert [t["id"] for t in tariffs] == ["AC-STANDARD", "T-NIGHT", "T-FAST"]
        one = await http.get(f"{mod(cpo, version, 'locations')}/LOC0", headers=auth(token_c))
        assert one.json()["data"]["id"] == "LOC0"  # a single object, not a list
        # The eMSP pushes its token.
        r = await http.put(
            f"{mod(cpo, version, 'tokens')}/DE/EMS/TOK1",
            json=emsp.fake.token("TOK1"),
            headers=auth(token_c),
        )
        assert r.status_code in (200, 201) and r.json()["status_code"] == 1000
        # START_SESSION → CommandResponse ACCEPTED, RemoteStartTransaction at the charger.
        body = {
            "response_url": f"{emsp.fake.base}/emsp/callback/start1",
            "token": emsp.fake.token("TOK1"),
            "location_id": "LOC0",
            "evse_uid": "CP1-1",
            "connector_id": "1",
        }
        answer = await command(http, cpo, version, token_c, "START_SESSION", body)
        assert answer["status_code"] == 1000 and answer["data"]["result"] == "ACCEPTED"
        await until(cp.got.wait)
        remote = cp.received[0]
        assert isinstance(remote, v16.RemoteStartTransactionRequest)
        assert remote.id_tag == "TOK1" and remote.connector_id == 1
        assert await until(lambda: results(emsp, "start1")) == ["ACCEPTED"]
        # The charger starts: the session PUT comes as PENDING (or ACTIVE), then kWh PATCHes.
        start = await cp.call(
            v16.StartTransactionRequest(
                connector_id=1, id_tag="TOK1", meter_start=1000, timestamp=T0
            )
        )
        assert start.id_tag_info.status == v16.IdTagInfoStatus.ACCEPTED
        await cp.call(
            v16.MeterValuesRequest(
                connector_id=1,
                transaction_id=start.transaction_id,
                meter_value=[
                    v16.MeterValue(
                        timestamp="2026-03-02T10:30:00Z",
                        sampled_value=[v16.SampledValue(value="3000", unit=v16.Unit.WH)],
                    )
                ],
            )
        )
        puts = await until(lambda: emsp.fake.of("PUT", "/sessions/NL/KWT/"))
        session_id = puts[0].path.rsplit("/", 1)[1]
        assert puts[0].body["status"] in ("PENDING", "ACTIVE")
        assert puts[0].body["cdr_token"]["uid"] == "TOK1"
        assert puts[0].body["auth_method"] == "COMMAND"

        def kwh_patch() -> list[Any]:
            return [
                p
                for p in emsp.fake.of("PATCH", f"/sessions/NL/KWT/{session_id}")
                if p.body.get("kwh") == 2
            ]

        patch = (await until(kwh_patch))[0]  # a later PATCH (e.g. status) may repeat kwh
        assert patch.body["status"] == "ACTIVE" and "last_updated" in patch.body
        r = await http.get(mod(cpo, version, "sessions"), headers=auth(token_c))
        assert r.json()["data"][0]["id"] == session_id
        # STOP_SESSION → RemoteStopTransaction; the charger stops; the CDR is POSTed.
        cp.got.clear()
        body = {"response_url": f"{emsp.fake.base}/emsp/callback/stop1", "session_id": session_id}
        answer = await command(http, cpo, version, token_c, "STOP_SESSION", body)
        assert answer["data"]["result"] == "ACCEPTED"
        await until(cp.got.wait)
        assert cp.received[-1].transaction_id == start.transaction_id
        assert await until(lambda: results(emsp, "stop1")) == ["ACCEPTED"]
        await cp.call(
            v16.StopTransactionRequest(
                meter_stop=5000,
                timestamp="2026-03-02T11:00:00Z",
                transaction_id=start.transaction_id,
                reason=v16.StopTransactionReason.REMOTE,
            )
        )
        (cdr,) = await until(lambda: emsp.fake.of("POST", "/emsp/" + version + "/cdrs"))
    data = cdr.body
    assert data["session_id"] == session_id and data["total_energy"] == 4
    # 0.50 flat + 4 kWh × 0.30 = 1.70 before taxes, 20 % VAT.
    if version == "2.3.0":
        assert Decimal(str(data["total_cost"]["before_taxes"])) == Decimal("1.7")
        assert Decimal(str(data["total_cost"]["taxes"][0]["amount"])) == Decimal("0.34")
    else:
        assert Decimal(str(data["total_cost"]["excl_vat"])) == Decimal("1.7")
        assert Decimal(str(data["total_cost"]["incl_vat"])) == Decimal("2.04")
    assert data["cdr_location"]["evse_uid"] == "CP1-1"
    assert data["cdr_location"]["connector_format"] == "CABLE"
    completed = [
        p
        for p in emsp.fake.of("PATCH", f"/sessions/NL/KWT/{session_id}")
        if p.body.get("status") == "COMPLETED"
    ]
    assert completed
    r = await http.get(mod(cpo, version, "cdrs"), headers=auth(token_c))
    assert [c["id"] for c in r.json()["data"]] == [data["id"]]


async def test_error_cases(cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str) -> None:
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo)
    # Bad token: HTTP 401.
    r = await http.get(mod(cpo, version, "locations"), headers=auth("not-a-token"))
    assert r.status_code == 401
    assert (await http.get(mod(cpo, version, "locations"))).status_code == 401
    start = {
        "response_url": f"{emsp.fake.base}/emsp/callback/x",
        "token": emsp.fake.token("TOK1"),
        "location_id": "NOWHERE",
        "evse_uid": "CP1-1",
    }
    # Unknown location: 2003.
    answer = await command(http, cpo, version, token_c, "START_SESSION", start)
    assert answer["status_code"] == 2003
    # Station offline (registered, never connected): EVSE_INOPERATIVE in the result.
    start.update(location_id="LOC0", response_url=f"{emsp.fake.base}/emsp/callback/offline")
    answer = await command(http, cpo, version, token_c, "START_SESSION", start)
    assert answer["data"]["result"] == "ACCEPTED"
    assert await until(lambda: results(emsp, "offline")) == ["EVSE_INOPERATIVE"]
    # Station rejects: REJECTED.
    Station16.mode = "reject"
    try:
        async with connect_ocpp(cpo.ocpp_url, "CP1", Station16) as cp:
            await boot16(cp)
            start.update(response_url=f"{emsp.fake.base}/emsp/callback/rejected")
            await command(http, cpo, version, token_c, "START_SESSION", start)
            assert await until(lambda: results(emsp, "rejected")) == ["REJECTED"]
            # UNLOCK_CONNECTOR that fails at the charger: FAILED.
            unlock = {
                "response_url": f"{emsp.fake.base}/emsp/callback/unlock",
                "location_id": "LOC0",
                "evse_uid": "CP1-1",
                "connector_id": "1",
            }
            await command(http, cpo, version, token_c, "UNLOCK_CONNECTOR", unlock)
            assert await until(lambda: results(emsp, "unlock")) == ["FAILED"]
    finally:
        Station16.mode = "accept"
    # Unknown session: UNKNOWN_SESSION at once.
    stop = {"response_url": f"{emsp.fake.base}/emsp/callback/s", "session_id": "nope"}
    answer = await command(http, cpo, version, token_c, "STOP_SESSION", stop)
    assert answer["data"]["result"] == "UNKNOWN_SESSION"


async def test_station_not_answering_gives_timeout(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    cpo = await make_cpo(command_timeout=2)
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo)
    Station16.mode = "silent"
    try:
        async with connect_ocpp(cpo.ocpp_url, "CP1", Station16) as cp:
            await boot16(cp)
            body = {
                "response_url": f"{emsp.fake.base}/emsp/callback/slow",
                "token": emsp.fake.token("TOK1"),
                "location_id": "LOC0",
                "evse_uid": "CP1-1",
            }
            answer = await command(http, cpo, version, token_c, "START_SESSION", body)
            assert answer["data"] == {"result": "ACCEPTED", "timeout": 2}
            assert await until(lambda: results(emsp, "slow"), rounds=6000) == ["TIMEOUT"]
    finally:
        Station16.mode = "accept"


async def test_partner_down_then_back_outbox_delivers_later(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    await register(cpo, emsp, http)
    await setup_site(cpo)
    await emsp.server.stop()
    async with connect_ocpp(cpo.ocpp_url, "CP1", Station16) as cp:
        await boot16(cp)
        await cp.call(
            v16.StatusNotificationRequest(
                connector_id=1,
                error_code=v16.StatusNotificationErrorCode.NO_ERROR,
                status=v16.StatusNotificationStatus.FAULTED,
                timestamp="2026-03-02T10:05:00Z",
            )
        )
        await cpo.handle.idle()

        async def failed_once() -> bool:
            assert cpo.handle.ocpi is not None
            rows = await cpo.handle.ocpi.store.undelivered()
            return any(r.attempts > 0 for r in rows)

        await until(failed_once)
        assert emsp.fake.of("PATCH", "/locations/NL/KWT/LOC0/CP1-1") == []
        await emsp.restart()

        def statuses() -> list[str]:
            return [p.body["status"] for p in emsp.fake.of("PATCH", "/locations/NL/KWT/LOC0/CP1-1")]

        await until(lambda: "OUTOFORDER" in statuses())
    # Everything queued while the eMSP was down arrived, in order: location PUTs before the
    # EVSE PATCHes.
    assert emsp.fake.of("PUT", "/tariffs/NL/KWT/AC-STANDARD")
    paths = [r.path for r in emsp.fake.received]
    first_put = paths.index(f"/emsp/{version}/locations/NL/KWT/LOC0")
    assert first_put < paths.index(f"/emsp/{version}/locations/NL/KWT/LOC0/CP1-1")
    # Disconnecting makes the EVSE UNKNOWN.
    await until(lambda: statuses()[-1] == "UNKNOWN")


async def test_ocpp201_remote_start_links_by_remote_start_id(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    token_c = await register(cpo, emsp, http)
    await setup_site(cpo, "CP2")
    await http.put(
        f"{mod(cpo, version, 'tokens')}/DE/EMS/APPUSER0000000000000000001",
        json=dict(emsp.fake.token("APPUSER0000000000000000001"), type="APP_USER"),
        headers=auth(token_c),
    )
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
            "response_url": f"{emsp.fake.base}/emsp/callback/s201",
            "token": dict(emsp.fake.token("APPUSER0000000000000000001"), type="APP_USER"),
            "location_id": "LOC0",
            "evse_uid": "CP2-1",
        }
        answer = await command(http, cpo, version, token_c, "START_SESSION", body)
        assert answer["data"]["result"] == "ACCEPTED"
        await until(cs.got.wait)
        request = cs.received[0]
        assert request.id_token.id_token == "APPUSER0000000000000000001"
        assert request.id_token.type == "Central" and request.evse_id == 1
        assert await until(lambda: results(emsp, "s201")) == ["ACCEPTED"]
        # The TransactionEvent carries the remoteStartId (not necessarily the token yet).
        await cs.call(
            v201.TransactionEventRequest(
                event_type=v201.TransactionEvent("Started"),
                timestamp=T0,
                trigger_reason=v201.TriggerReason("RemoteStart"),
                seq_no=0,
                transaction_info=v201.Transaction(
                    transaction_id="tx-201", remote_start_id=request.remote_start_id
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
        (put,) = await until(lambda: emsp.fake.of("PUT", "/sessions/NL/KWT/"))
        assert put.body["status"] in ("PENDING", "ACTIVE")
        assert put.body["cdr_token"]["uid"] == "APPUSER0000000000000000001"
        session_id = put.path.rsplit("/", 1)[1]

        def active() -> bool:
            if put.body["status"] == "ACTIVE":
                return True
            patches = emsp.fake.of("PATCH", f"/sessions/NL/KWT/{session_id}")
            return any(p.body.get("status") == "ACTIVE" for p in patches)

        await until(active)
        r = await cpo.api.get("/api/v1/transactions", params={"station_id": "CP2"})
        (tx,) = r.json()["items"]
        assert tx["remote_start_id"] == request.remote_start_id
