"""Operator API edge cases: unknown resources, bad parameters, pagination, and a 1.6 stop for
an unknown transaction answered normally."""

from __future__ import annotations

import asyncio

from .support import Api, KilowattServer, boot_raw, now_iso, raw_station, unique


async def test_unknown_resources_and_bad_parameters(api: Api) -> None:
    for path, expect in [
        ("/stations/NO-SUCH-STATION", 404),
        ("/transactions/987654", 404),
        ("/transactions/987654/meter-values", 404),
        ("/id-tokens/NO-SUCH-TOKEN", 404),
        ("/stations/NO-SUCH-STATION/messages", 404),
        ("/transactions/abc", 422),
        ("/transactions?status=bogus", 422),
        ("/stations?limit=-1", 422),
        ("/stations?offset=-1", 422),
    ]:
        response = await api.request("GET", path)
        assert response.status_code == expect, (path, response.status_code, response.text)
    response = await api.request("PUT", "/id-tokens/T-BAD", json={"status": "Bogus"})
    assert response.status_code == 422, response.text
    response = await api.request("PATCH", "/stations/NO-SUCH-STATION", json={})
    assert response.status_code == 404, response.text
    response = await api.request("DELETE", "/stations/NO-SUCH-STATION")
    assert response.status_code == 404, response.text


async def test_pagination_of_transactions(server: KilowattServer, api: Api) -> None:
    identity, token = unique("PAGE"), unique("PT")
    await api.put_token(token)
    async with raw_station(server, identity) as st:
        await boot_raw(st, "ocpp1.6")
        ids = []
        for connector in range(1, 6):
            start = {
                "connectorId": connector,
                "idTag": token,
                "meterStart": connector,
                "timestamp": now_iso(),
            }
            ids.append((await st.result("StartTransaction", start))["transactionId"])
        # A stop for a transaction the CSMS does not know is answered normally (1.6 §4.10).
        answer = await st.result(
            "StopTransaction", {"transactionId": 987654, "meterStop": 1, "timestamp": now_iso()}
        )
        assert set(answer) <= {"idTagInfo"}, answer
    seen = []
    for offset in range(0, 6, 2):
        page = await api.json(
            "GET",
            "/transactions",
            params={"station_id": identity, "limit": 2, "offset": offset},
        )
        assert page["total"] == 5, page
        seen += [t["id"] for t in page["items"]]
    assert sorted(seen) == sorted(ids), (seen, ids)


async def test_deleting_a_connected_station_closes_its_connection(
    server: KilowattServer, api: Api
) -> None:
    """After DELETE the station must not linger connected with no record (every message it
    sends would fail): the CSMS closes the socket; a reconnect (open registration) re-creates
    it and its messages work again."""
    identity = unique("DEL")
    async with raw_station(server, identity) as st:
        await boot_raw(st, "ocpp1.6")
        await api.json("DELETE", f"/stations/{identity}", expect=204)
        await api.json("GET", f"/stations/{identity}", expect=404)
        problems = []
        # Safety net only: the close is expected at once (asyncio.wait does not cancel).
        done, _ = await asyncio.wait({st.reader}, timeout=10)
        if not done:
            problems.append("connection still open after DELETE")
            frame = await st.call(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
            )
            problems.append(f"StatusNotification on it answered {frame}")
        assert not problems, problems
    async with raw_station(server, identity) as st:
        await boot_raw(st, "ocpp1.6")
        assert (await api.station(identity))["connected"] is True
