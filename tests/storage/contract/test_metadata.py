"""Contract: :class:`kilowatt.csms.repositories.StationMetadataRepository`, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kilowatt.csms.repositories import Repositories

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


async def _stations(repos: Repositories, *ids: str) -> None:
    for station_id in ids:
        await repos.stations.insert({"id": station_id, "created_at": AT, "updated_at": AT})


async def test_put_evse_inserts_then_sets_only_the_given_columns(repos: Repositories) -> None:
    await _stations(repos, "CP1")
    metadata = repos.metadata
    await metadata.put_evse(
        {"station_id": "CP1", "evse_id": 1, "evse_code": "NL*KWT*E1", "updated_at": AT}
    )
    later = AT + timedelta(hours=1)
    await metadata.put_evse(
        {"station_id": "CP1", "evse_id": 1, "capabilities": ["RFID_READER"], "updated_at": later}
    )
    [row] = await metadata.evses(["CP1"])
    assert (row["evse_code"], row["capabilities"], row["floor_level"], row["updated_at"]) == (
        "NL*KWT*E1",
        ["RFID_READER"],
        None,
        later,
    )


async def test_connectors_ordered_and_only_of_the_given_stations(repos: Repositories) -> None:
    await _stations(repos, "CP1", "CP2")
    metadata = repos.metadata
    for station_id, evse_id, connector_id in (("CP2", 1, 1), ("CP1", 2, 1), ("CP1", 1, 2)):
        await metadata.put_connector(
            {
                "station_id": station_id,
                "evse_id": evse_id,
                "connector_id": connector_id,
                "standard": "IEC_62196_T2",
                "max_voltage": 230,
                "updated_at": AT,
            }
        )
    await metadata.put_connector(
        {"station_id": "CP1", "evse_id": 1, "connector_id": 2, "max_amperage": 32, "updated_at": AT}
    )
    rows = await metadata.connectors(["CP1"])
    assert [(r["evse_id"], r["connector_id"]) for r in rows] == [(1, 2), (2, 1)]
    assert (rows[0]["standard"], rows[0]["max_voltage"], rows[0]["max_amperage"]) == (
        "IEC_62196_T2",
        230,
        32,
    )
    assert len(await metadata.connectors(["CP1", "CP2"])) == 3
    assert await metadata.connectors([]) == [] and await metadata.evses([]) == []


async def test_deleting_the_station_deletes_its_metadata(repos: Repositories) -> None:
    await _stations(repos, "CP1")
    await repos.metadata.put_evse({"station_id": "CP1", "evse_id": 1, "updated_at": AT})
    await repos.metadata.put_connector(
        {"station_id": "CP1", "evse_id": 1, "connector_id": 1, "updated_at": AT}
    )
    assert await repos.stations.delete("CP1")
    assert await repos.metadata.evses(["CP1"]) == []
    assert await repos.metadata.connectors(["CP1"]) == []
