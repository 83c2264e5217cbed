"""Contract suite: Kilowatt as CPO against a fake eMSP (real HTTP on loopback), per version."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from kilowatt.ocpi import build_operator_router, build_router
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import CommandResultType, Status
from kilowatt.ocpi.pricing import UsagePeriod

from .conftest import CC, PID, Cpo, CpoFactory, Emsp, register
from .servers import FakeClock, auth


def mod(cpo: Cpo, version: str, module: str) -> str:
    return f"{cpo.url}/ocpi/cpo/{version}/{module}"


async def test_registration_handshake_token_a_b_c(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    partner_id, token_a, versions_url = await cpo.ocpi.create_partner("Other")
    # token A: only versions and credentials
    assert (await http.get(versions_url, headers=auth(token_a))).status_code == 200
    r = await http.get(mod(cpo, version, "locations"), headers=auth(token_a))
    assert r.status_code == 401 and r.json()["status_code"] == 2000
    token_c = await register(cpo, emsp, http)
    # we fetched the eMSP's versions and details with token B
    partners = await cpo.ocpi.store.registered_partners()
    assert [p.version for p in partners] == [version]
    assert partners[0].their_token == "emsp-B-token"
    assert partners[0].country_code == "DE" and partners[0].party_id == "EMS"
    # token C works everywhere; the details list our CPO modules
    r = await http.get(f"{cpo.url}/ocpi/{version}", headers=auth(token_c))
    ids = {(e["identifier"], e["role"]) for e in r.json()["data"]["endpoints"]}
    assert {("locations", "SENDER"), ("commands", "RECEIVER"), ("tokens", "RECEIVER")} <= ids
    assert (
        await http.get(mod(cpo, version, "locations"), headers=auth(token_c))
    ).status_code == 200
    # the raw (not base64) token is accepted as a fallback
    raw = {"Authorization": f"Token {token_c}"}
    assert (await http.get(mod(cpo, version, "tariffs"), headers=raw)).status_code == 200
    # credentials GET returns our credentials with the caller's token
    r = await http.get(f"{cpo.url}/ocpi/{version}/credentials", headers=auth(token_c))
    data = r.json()["data"]
    assert data["token"] == token_c and data["roles"][0]["role"] == "CPO"
    assert data["url"] == f"{cpo.url}/ocpi/versions"
    # a second POST is not allowed: 405
    r = await http.post(
        f"{cpo.url}/ocpi/{version}/credentials",
        json=emsp.fake.credentials("again"),
        headers=auth(token_c),
    )
    assert r.status_code == 405
    # PUT: new token B2, new token C2; the old C is retired
    emsp.fake.accepted_tokens = {"emsp-B2"}
    r = await http.put(
        f"{cpo.url}/ocpi/{version}/credentials",
        json=emsp.fake.credentials("emsp-B2"),
        headers=auth(token_c),
    )
    token_c2 = r.json()["data"]["token"]
    assert token_c2 != token_c
    assert (await http.get(mod(cpo, version, "tariffs"), headers=auth(token_c))).status_code == 401
    assert (await http.get(mod(cpo, version, "tariffs"), headers=auth(token_c2))).status_code == 200
    # DELETE unregisters
    r = await http.delete(f"{cpo.url}/ocpi/{version}/credentials", headers=auth(token_c2))
    assert r.json()["status_code"] == 1000
    assert (await http.get(mod(cpo, version, "tariffs"), headers=auth(token_c2))).status_code == 401
    assert partner_id  # the other pending partner still has its token A
    assert (await http.get(versions_url, headers=auth(token_a))).status_code == 200


async def test_registration_started_by_kilowatt(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    emsp.fake.accepted_tokens = {"emsp-token-A"}
    partner_id, _, _ = await cpo.ocpi.create_partner("Fake eMSP")
    got = await cpo.ocpi.register_with(partner_id, emsp.versions_url, "emsp-token-A")
    assert got == version
    partner = await cpo.ocpi.store.get_partner(partner_id)
    assert partner is not None and partner.state == "REGISTERED"
    assert partner.their_token == emsp.fake.their_token_for_cpo
    # the token we sent the eMSP works on our functional modules
    our_token = emsp.fake.cpo_token
    r = await http.get(mod(cpo, version, "locations"), headers=auth(our_token))
    assert r.status_code == 200
    # a push now goes out with the eMSP's new token
    loc = cpo.backend.locations["L1"]
    assert await cpo.ocpi.push.location_updated(loc) == 1
    assert await cpo.ocpi.outbox.run_once() == 1
    assert emsp.fake.of("PUT", f"/locations/{CC}/{PID}/L1")


async def test_registration_through_operator_api(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    from fastapi import FastAPI

    from .servers import Server

    app = FastAPI()  # a host app with default settings (redirect_slashes=True)
    app.include_router(build_operator_router(cpo.ocpi))
    app.include_router(build_router(cpo.ocpi))
    api = await Server(app).start()
    try:
        r = await http.get(f"{api.url}/ocpi/versions/", follow_redirects=False)
        assert r.status_code == 404 and r.json()["status_code"] == 2000
        r = await http.get(f"{api.url}/ocpi/versions")
        assert r.status_code == 401
        r = await http.post(f"{api.url}/api/v1/ocpi/partners", json={"name": "X"})
        assert r.status_code == 201
        body = r.json()
        assert set(body) == {"id", "token_a", "versions_url"}
        emsp.fake.accepted_tokens = {"their-A"}
        r = await http.post(
            f"{api.url}/api/v1/ocpi/partners/{body['id']}/register",
            json={"versions_url": emsp.versions_url, "token": "their-A"},
        )
        assert r.status_code == 200 and r.json()["version"] == version
        r = await http.post(
            f"{api.url}/api/v1/ocpi/partners/nope/register",
            json={"versions_url": emsp.versions_url, "token": "x"},
        )
        assert r.status_code == 404
    finally:
        await api.stop()


async def test_pull_locations_with_pagination(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    token = await register(cpo, emsp, http)
    url = mod(cpo, version, "locations") + "?limit=2"
    seen: list[str] = []
    pages = 0
    while url:
        r = await http.get(url, headers=auth(token))
        assert r.status_code == 200
        assert r.headers["X-Total-Count"] == "5"
        assert r.headers["X-Limit"] == "2"
        seen += [loc["id"] for loc in r.json()["data"]]
        link = r.headers.get("Link")
        url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1) if link else ""  # type: ignore[union-attr]
        assert not url.endswith("/")
        pages += 1
    assert seen == ["L0", "L1", "L2", "L3", "L4"] and pages == 3
    # server cap: limit=1000 is capped at max_limit=3
    r = await http.get(mod(cpo, version, "locations") + "?limit=1000", headers=auth(token))
    assert r.headers["X-Limit"] == "3" and len(r.json()["data"]) == 3
    # date_from inclusive, date_to exclusive; the Link keeps the filters
    base = cpo.clock.now - timedelta(hours=1)
    frm = (base + timedelta(minutes=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
    to = (base + timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = await http.get(
        mod(cpo, version, "locations"),
        params={"date_from": frm, "date_to": to, "limit": "2"},
        headers=auth(token),
    )
    assert [loc["id"] for loc in r.json()["data"]] == ["L1", "L2"]
    assert r.headers["X-Total-Count"] == "3"
    link = r.headers["Link"]
    assert f"date_from={frm}" in link and f"date_to={to}" in link and "offset=2" in link
    # single objects are objects; 2.3.0-only fields only for 2.3.0
    r = await http.get(mod(cpo, version, "locations/L0"), headers=auth(token))
    loc = r.json()["data"]
    assert isinstance(loc, dict) and loc["id"] == "L0"
    assert ("help_phone" in loc) is (version == "2.3.0")
    r = await http.get(mod(cpo, version, "locations/L0/L0-E1"), headers=auth(token))
    assert r.json()["data"]["uid"] == "L0-E1"
    r = await http.get(mod(cpo, version, "locations/L0/L0-E1/1"), headers=auth(token))
    conn = r.json()["data"]
    assert conn["standard"] == "IEC_62196_T2"
    assert ("capabilities" in conn) is (version == "2.3.0")


async def test_pull_tariffs_with_pagination(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    token = await register(cpo, emsp, http)
    r = await http.get(mod(cpo, version, "tariffs") + "?limit=2", headers=auth(token))
    assert r.headers["X-Total-Count"] == "3"
    assert [t["id"] for t in r.json()["data"]] == ["T0", "T1"]
    nxt = re.fullmatch(r'<([^>]+)>; rel="next"', r.headers["Link"]).group(1)  # type: ignore[union-attr]
    r = await http.get(nxt, headers=auth(token))
    assert [t["id"] for t in r.json()["data"]] == ["T2"] and "Link" not in r.headers
    tariff = r.json()["data"][0]
    assert ("tax_included" in tariff) is (version == "2.3.0")
    assert tariff["elements"][1]["price_components"][0] == {
        "type": "ENERGY",
        "price": 0.3,
        "vat": 20,
        "step_size": 1,
    }


async def test_transport_rules(cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str) -> None:
    token = await register(cpo, emsp, http)
    # missing and unknown tokens: 401 with the envelope
    r = await http.get(mod(cpo, version, "locations"))
    assert r.status_code == 401 and r.json()["status_code"] == 2000 and "timestamp" in r.json()
    r = await http.get(mod(cpo, version, "locations"), headers=auth("nope"))
    assert r.status_code == 401
    # request ids echoed, generated when absent
    r = await http.get(
        mod(cpo, version, "tariffs"),
        headers={**auth(token), "X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"},
    )
    assert r.headers["X-Request-ID"] == "req-1" and r.headers["X-Correlation-ID"] == "corr-1"
    r = await http.get(mod(cpo, version, "tariffs"), headers=auth(token))
    assert r.headers["X-Request-ID"] and r.headers["X-Correlation-ID"]
    # routing headers: direct response swaps from/to
    r = await http.get(
        mod(cpo, version, "tariffs"),
        headers={
            **auth(token),
            "OCPI-from-country-code": "DE",
            "OCPI-from-party-id": "EMS",
            "OCPI-to-country-code": CC,
            "OCPI-to-party-id": PID,
        },
    )
    assert r.headers["OCPI-to-country-code"] == "DE" and r.headers["OCPI-to-party-id"] == "EMS"
    assert r.headers["OCPI-from-country-code"] == CC and r.headers["OCPI-from-party-id"] == PID
    # configuration modules carry no routing headers
    r = await http.get(f"{cpo.url}/ocpi/versions", headers=auth(token))
    assert "OCPI-from-party-id" not in r.headers
    # no trailing slashes: 404, no redirect
    r = await http.get(mod(cpo, version, "tariffs") + "/", headers=auth(token))
    assert r.status_code == 404 and r.json()["status_code"] == 2000
    # unknown location: 2003
    r = await http.get(mod(cpo, version, "locations/NOPE"), headers=auth(token))
    assert r.status_code == 404 and r.json()["status_code"] == 2003
    # bad parameters: 2001
    r = await http.get(mod(cpo, version, "tariffs") + "?limit=x", headers=auth(token))
    assert r.status_code == 200 and r.json()["status_code"] == 2001


async def test_push_token_and_authorize(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    token_c = await register(cpo, emsp, http)
    url = mod(cpo, version, "tokens/DE/EMS/TAG1")
    r = await http.put(url, json=emsp.fake.token("TAG1", "ALLOWED"), headers=auth(token_c))
    assert r.status_code == 201 and r.json()["status_code"] == 1000
    r = await http.put(url, json=emsp.fake.token("TAG1", "ALLOWED"), headers=auth(token_c))
    assert r.status_code == 200
    r = await http.get(url, headers=auth(token_c))
    assert r.json()["data"]["uid"] == "TAG1"
    # PATCH requires last_updated
    r = await http.patch(url, json={"valid": False}, headers=auth(token_c))
    assert r.json()["status_code"] == 2001
    r = await http.patch(
        url,
        json={"whitelist": "NEVER", "last_updated": "2026-03-02T09:00:00Z"},
        headers=auth(token_c),
    )
    assert r.json()["status_code"] == 1000
    res = await cpo.ocpi.authorize_token("TAG1")
    assert res is not None and res.allowed == "ALLOWED" and res.source == "whitelist"
    # id in body differs from URL: 2001; unknown token GET: 404 + 2004; other party: 404
    r = await http.put(
        mod(cpo, version, "tokens/DE/EMS/OTHER"),
        json=emsp.fake.token("TAG1"),
        headers=auth(token_c),
    )
    assert r.json()["status_code"] == 2001
    r = await http.get(mod(cpo, version, "tokens/DE/EMS/NOPE"), headers=auth(token_c))
    assert r.status_code == 404 and r.json()["status_code"] == 2004
    r = await http.get(mod(cpo, version, "tokens/FR/XXX/TAG1"), headers=auth(token_c))
    assert r.status_code == 404
    # ALWAYS: real-time authorization at the eMSP
    await http.put(
        mod(cpo, version, "tokens/DE/EMS/TAG2"),
        json=emsp.fake.token("TAG2", "ALWAYS"),
        headers=auth(token_c),
    )
    emsp.fake.authorizations["TAG2"] = "BLOCKED"
    res = await cpo.ocpi.authorize_token("TAG2", location_id="L0")
    assert res is not None and res.allowed == "BLOCKED" and res.source == "realtime"
    assert res.authorization_reference == "auth-TAG2"
    assert emsp.fake.of("POST", "/tokens/TAG2/authorize")
    # ALLOWED_OFFLINE with the eMSP unreachable: falls back to the stored token
    await http.put(
        mod(cpo, version, "tokens/DE/EMS/TAG3"),
        json=emsp.fake.token("TAG3", "ALLOWED_OFFLINE"),
        headers=auth(token_c),
    )
    await emsp.server.stop()
    res = await cpo.ocpi.authorize_token("TAG3")
    assert res is not None and res.allowed == "ALLOWED" and res.source == "whitelist"
    res = await cpo.ocpi.authorize_token("TAG2")
    assert res is not None and res.allowed == "NOT_ALLOWED"
    assert await cpo.ocpi.authorize_token("UNKNOWN") is None
    await emsp.restart()


async def command(
    http: httpx.AsyncClient, cpo: Cpo, version: str, token: str, name: str, body: dict[str, object]
) -> dict[str, object]:
    r = await http.post(mod(cpo, version, f"commands/{name}"), json=body, headers=auth(token))
    assert r.status_code in (200, 404), r.text
    return dict(r.json())


async def test_start_session_session_pushes_stop_and_cdr(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    token_c = await register(cpo, emsp, http)
    cb = f"{emsp.url}/emsp/callback"
    tok = emsp.fake.token("TAG1", "ALLOWED")
    # START_SESSION → CommandResponse ACCEPTED at once
    env = await command(
        http,
        cpo,
        version,
        token_c,
        "START_SESSION",
        {
            "response_url": f"{cb}/start",
            "token": tok,
            "location_id": "L0",
            "evse_uid": "L0-E0",
            "connector_id": "1",
        },
    )
    assert env["status_code"] == 1000
    assert env["data"] == {"result": "ACCEPTED", "timeout": 60}
    # the station got its own OCPP call, then CommandResult ACCEPTED is POSTed to response_url
    await cpo.ocpi.commands.wait_idle()
    assert cpo.station.frames[0][2] == "RemoteStartTransaction"
    assert cpo.station.frames[0][3]["idTag"] == "TAG1"
    assert await cpo.ocpi.outbox.run_once() == 1
    result = emsp.fake.of("POST", "/callback/start")
    assert [r.body for r in result] == [{"result": "ACCEPTED"}]
    # the CSMS starts the transaction: session PUT (PENDING), then PATCHes with kWh
    token = v230.Token.model_validate(tok)
    session = cpo.backend.start_session("S1", token, "L0", "L0-E0", "1")
    await cpo.ocpi.push.session_created(session)
    t0 = cpo.clock.now
    cpo.clock.advance(1800)
    session = cpo.backend.add_usage("S1", UsagePeriod(t0, cpo.clock.now, energy_wh=Decimal(11000)))
    await cpo.ocpi.push.session_updated(
        session, ["status", "kwh", "charging_periods", "total_cost"]
    )
    assert await cpo.ocpi.outbox.run_once() == 2
    put = emsp.fake.of("PUT", f"/sessions/{CC}/{PID}/S1")
    assert put[0].body["status"] == "PENDING" and put[0].body["kwh"] == 0
    assert (
        put[0].headers["ocpi-from-party-id"] == PID and put[0].headers["ocpi-to-party-id"] == "EMS"
    )
    patch = emsp.fake.of("PATCH", f"/sessions/{CC}/{PID}/S1")[0].body
    assert patch["status"] == "ACTIVE" and patch["kwh"] == 11 and "last_updated" in patch
    assert set(patch) == {"status", "kwh", "charging_periods", "total_cost", "last_updated"}
    # STOP_SESSION
    env = await command(
        http,
        cpo,
        version,
        token_c,
        "STOP_SESSION",
        {"response_url": f"{cb}/stop", "session_id": "S1"},
    )
    assert env["data"]["result"] == "ACCEPTED"  # type: ignore[index]
    await cpo.ocpi.commands.wait_idle()
    assert cpo.station.frames[1][2] == "RemoteStopTransaction"
    assert cpo.station.frames[0][1] != cpo.station.frames[1][1]  # each command its own call
    # 10 minutes parked, then the transaction ends: session PATCH COMPLETED + CDR POST
    t1 = cpo.clock.now
    cpo.clock.advance(600)
    cpo.backend.add_usage("S1", UsagePeriod(t1, cpo.clock.now, parking=True))
    session, cdr = cpo.backend.stop_session("S1")
    await cpo.ocpi.push.session_updated(session, ["status", "end_date_time"])
    await cpo.ocpi.push.cdr_created(cdr)
    assert await cpo.ocpi.outbox.run_once() == 3
    assert [r.body for r in emsp.fake.of("POST", "/callback/stop")] == [{"result": "ACCEPTED"}]
    done = emsp.fake.of("PATCH", f"/sessions/{CC}/{PID}/S1")[-1].body
    assert done["status"] == "COMPLETED"
    cdrs = emsp.fake.of("POST", "/cdrs")
    assert len(cdrs) == 1
    body = cdrs[0].body
    # 11 kWh × 0.30 + 0.5 h × 2.00 + 10 min parking × 1.00/h + 0.50 flat = 4.9667 excl. VAT
    if version == "2.2.1":
        assert body["total_cost"] == {"excl_vat": 4.9667, "incl_vat": 5.96}
    else:
        assert body["total_cost"] == {
            "before_taxes": 4.9667,
            "taxes": [{"name": "VAT", "percentage": 20, "amount": 0.9933}],
        }
    assert body["total_energy"] == 11 and body["total_time"] == 0.6667
    assert body["cdr_location"]["evse_uid"] == "L0-E0"
    # sessions and CDRs can be pulled too
    r = await http.get(mod(cpo, version, "cdrs"), headers=auth(token_c))
    assert r.json()["data"][0]["id"] == "S1"
    r = await http.get(mod(cpo, version, "sessions"), headers=auth(token_c))
    assert r.json()["data"][0]["status"] == "COMPLETED"


async def test_command_errors(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    cpo = await make_cpo()
    token_c = await register(cpo, emsp, http)
    tok = emsp.fake.token("TAG1")
    cb = f"{emsp.url}/emsp/callback"
    # unknown location: 2003, with a REJECTED CommandResponse
    env = await command(
        http,
        cpo,
        version,
        token_c,
        "START_SESSION",
        {"response_url": f"{cb}/x", "token": tok, "location_id": "NOPE"},
    )
    assert env["status_code"] == 2003 and env["data"]["result"] == "REJECTED"  # type: ignore[index]
    # unknown session on STOP
    env = await command(
        http,
        cpo,
        version,
        token_c,
        "STOP_SESSION",
        {"response_url": f"{cb}/x", "session_id": "NOPE"},
    )
    assert env["data"]["result"] == "UNKNOWN_SESSION"  # type: ignore[index]
    # invalid body: 2001
    env = await command(http, cpo, version, token_c, "START_SESSION", {"response_url": "x"})
    assert env["status_code"] == 2001
    # unknown command: 404
    r = await http.post(mod(cpo, version, "commands/FLY"), json={}, headers=auth(token_c))
    assert r.status_code == 404


async def _single_command_result(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str, name: str, body: dict[str, object]
) -> list[object]:
    token_c = await register(cpo, emsp, http)
    env = await command(http, cpo, version, token_c, name, body)
    assert env["data"]["result"] == "ACCEPTED", env  # type: ignore[index]
    await cpo.ocpi.commands.wait_idle()
    await cpo.ocpi.outbox.run_once()
    return [r.body for r in emsp.fake.of("POST", "/callback/")]


async def test_station_offline_gives_evse_inoperative(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    cpo = await make_cpo(mode="offline")
    got = await _single_command_result(
        cpo,
        emsp,
        http,
        version,
        "UNLOCK_CONNECTOR",
        {
            "response_url": f"{emsp.url}/emsp/callback/u",
            "location_id": "L1",
            "evse_uid": "L1-E0",
            "connector_id": "1",
        },
    )
    assert got == [{"result": CommandResultType.EVSE_INOPERATIVE.value}]


async def test_station_rejects(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    cpo = await make_cpo(mode="reject")
    got = await _single_command_result(
        cpo,
        emsp,
        http,
        version,
        "RESERVE_NOW",
        {
            "response_url": f"{emsp.url}/emsp/callback/r",
            "token": emsp.fake.token("T"),
            "expiry_date": "2026-03-02T12:00:00Z",
            "reservation_id": "R1",
            "location_id": "L1",
        },
    )
    assert got == [{"result": "REJECTED"}]


async def test_station_not_answering_gives_timeout(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    cpo = await make_cpo(mode="silent", command_timeout=0.2)
    got = await _single_command_result(
        cpo,
        emsp,
        http,
        version,
        "CANCEL_RESERVATION",
        {"response_url": f"{emsp.url}/emsp/callback/c", "reservation_id": "R1"},
    )
    assert got == [{"result": "TIMEOUT"}]


async def test_ocpp_timeout_gives_timeout(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    cpo = await make_cpo(mode="timeout")
    got = await _single_command_result(
        cpo,
        emsp,
        http,
        version,
        "CANCEL_RESERVATION",
        {"response_url": f"{emsp.url}/emsp/callback/c", "reservation_id": "R1"},
    )
    assert got == [{"result": "TIMEOUT"}]


async def test_partner_down_then_back(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    await register(cpo, emsp, http)
    await emsp.server.stop()
    evse = cpo.backend.set_evse_status("L2", "L2-E0", Status.CHARGING)
    await cpo.ocpi.push.evse_status_changed("L2", "L2-E0", evse.status, evse.last_updated)
    await cpo.ocpi.push.location_updated(cpo.backend.locations["L3"])
    assert await cpo.ocpi.outbox.run_once() == 0
    rows = await cpo.ocpi.store.undelivered()
    assert [r.attempts for r in rows] == [1, 0]  # the second waits behind the first
    cpo.clock.advance(1)
    assert await cpo.ocpi.outbox.run_once() == 0
    rows = await cpo.ocpi.store.undelivered()
    assert rows[0].attempts == 2
    assert rows[0].next_attempt_at - cpo.clock.now == timedelta(seconds=2)  # backoff doubles
    await emsp.restart()
    assert await cpo.ocpi.outbox.run_once() == 0  # not due yet
    cpo.clock.advance(2)
    assert await cpo.ocpi.outbox.run_once() == 2
    patch = emsp.fake.of("PATCH", f"/locations/{CC}/{PID}/L2/L2-E0")
    assert patch[0].body["status"] == "CHARGING" and "last_updated" in patch[0].body
    assert emsp.fake.of("PUT", f"/locations/{CC}/{PID}/L3")
    assert await cpo.ocpi.store.undelivered() == []


async def test_worker_task_delivers(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    import asyncio

    cpo = await make_cpo()
    await register(cpo, emsp, http)
    task = asyncio.create_task(cpo.ocpi.outbox.run(poll_interval=0.05))
    try:
        await cpo.ocpi.push.tariff_updated(cpo.backend.tariffs["T1"])
        while not emsp.fake.of("PUT", "/tariffs/"):
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert emsp.fake.of("PUT", f"/tariffs/{CC}/{PID}/T1")


async def test_restart_with_pending_command(
    make_cpo: CpoFactory, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    first = await make_cpo(mode="silent", clock=clock, db="restart.db")
    token_c = await register(first, emsp, http)
    env = await command(
        http,
        first,
        version,
        token_c,
        "START_SESSION",
        {
            "response_url": f"{emsp.url}/emsp/callback/late",
            "token": emsp.fake.token("T"),
            "location_id": "L0",
        },
    )
    assert env["data"]["result"] == "ACCEPTED"  # type: ignore[index]
    assert len(await first.ocpi.store.pending_commands()) == 1
    await first.server.stop()  # crash/restart: the station never answered
    clock.advance(120)
    second = await make_cpo(mode="silent", clock=clock, db="restart.db", backend=first.backend)
    assert await second.ocpi.store.pending_commands() == []
    assert await second.ocpi.outbox.run_once() == 1
    assert [r.body for r in emsp.fake.of("POST", "/callback/late")] == [{"result": "TIMEOUT"}]


async def test_sessions_and_cdrs_are_private_to_their_emsp(
    cpo: Cpo, emsp: Emsp, http: httpx.AsyncClient, version: str
) -> None:
    """Two registered eMSPs (DE*EMS, DE*OTH): each GETs only the sessions and CDRs charged
    with its own tokens; STOP_SESSION of the other's session is UNKNOWN_SESSION."""
    from .conftest import register as register_emsp
    from .servers import FakeEmsp, Server

    fake2 = FakeEmsp(version, party_id="OTH")
    server2 = await Server(fake2.app()).start()
    fake2.base = server2.url
    emsp2 = Emsp(fake2, server2, server2.url, f"{server2.url}/emsp/versions")
    try:
        token1 = await register_emsp(cpo, emsp, http)
        token2 = await register_emsp(cpo, emsp2, http)
        for sid, fake in (("S1", emsp.fake), ("S2", fake2)):
            tok = v230.Token.model_validate(fake.token(f"TAG-{sid}"))
            cpo.backend.start_session(sid, tok, "L0", "L0-E0", "1")
            cpo.clock.advance(60)
            cpo.backend.add_usage(
                sid,
                UsagePeriod(cpo.clock.now - timedelta(seconds=60), cpo.clock.now, Decimal(500)),
            )
            cpo.backend.stop_session(sid)
        for token_c, sid in ((token1, "S1"), (token2, "S2")):
            for module in ("sessions", "cdrs"):
                r = await http.get(mod(cpo, version, module), headers=auth(token_c))
                assert r.json()["status_code"] == 1000
                assert [o["id"] for o in r.json()["data"]] == [sid]
                assert r.headers["X-Total-Count"] == "1"
        # Routing headers naming another party than the caller's: nothing.
        other = {"OCPI-from-country-code": "DE", "OCPI-from-party-id": "OTH"}
        r = await http.get(mod(cpo, version, "sessions"), headers={**auth(token1), **other})
        assert r.json()["data"] == [] and r.headers["X-Total-Count"] == "0"
        r = await http.get(mod(cpo, version, "cdrs"), headers={**auth(token2), **other})
        assert [o["id"] for o in r.json()["data"]] == ["S2"]
        # STOP_SESSION: the other eMSP's session is unknown; one's own is accepted.
        stop: dict[str, object] = {
            "response_url": f"{emsp.url}/emsp/callback/stop",
            "session_id": "S2",
        }
        env = await command(http, cpo, version, token1, "STOP_SESSION", stop)
        assert env["data"]["result"] == "UNKNOWN_SESSION"  # type: ignore[index]
        env = await command(http, cpo, version, token2, "STOP_SESSION", stop)
        assert env["data"]["result"] == "ACCEPTED"  # type: ignore[index]
        # A START_SESSION with the other eMSP's token: REJECTED, nothing sent.
        frames = len(cpo.station.frames)
        start: dict[str, object] = {
            "response_url": f"{emsp.url}/emsp/callback/start",
            "token": fake2.token("TAG-X"),
            "location_id": "L0",
            "evse_uid": "L0-E0",
            "connector_id": "1",
        }
        env = await command(http, cpo, version, token1, "START_SESSION", start)
        assert env["data"]["result"] == "REJECTED"  # type: ignore[index]
        await cpo.ocpi.commands.wait_idle()
        assert len(cpo.station.frames) == frames
        # The in-memory backend applies the same rule to a single session.
        assert await cpo.backend.get_session("S2", frozenset({("DE", "EMS")})) is None
        assert await cpo.backend.get_session("S2", frozenset({("DE", "OTH")})) is not None
    finally:
        await server2.stop()
