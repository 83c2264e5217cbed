"""Contract: :class:`kilowatt.csms.repositories.StationRepository`, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from kilowatt.csms.model import SampledValue
from kilowatt.csms.repositories import Repositories, TransactionStep

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
STATUS = {
    "status": "Available",
    "error_code": "NoError",
    "info": None,
    "vendor_error_code": None,
    "status_at": AT,
}


def _station(station_id: str, **values: Any) -> dict[str, Any]:
    return {"id": station_id, "created_at": AT, "updated_at": AT, **values}


async def test_insert_fills_defaults_and_refuses_a_second_time(repos: Repositories) -> None:
    stations = repos.stations
    row = await stations.insert(_station("CP1"))
    assert row is not None
    assert row["id"] == "CP1" and row["connected"] is False and row["security_profile"] == 0
    assert row["location_id"] is None and row["created_at"] == AT
    assert await stations.insert(_station("CP1", security_profile=1)) is None
    stored = await stations.get("CP1")
    assert stored is not None and stored["security_profile"] == 0
    assert await stations.get("CP2") is None


async def test_update_reports_unknown_stations(repos: Repositories) -> None:
    await repos.stations.insert(_station("CP1"))
    berlin = datetime(2026, 11, 21, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert await repos.stations.update("CP1", {"vendor": "V", "last_seen": berlin})
    assert not await repos.stations.update("NOPE", {"vendor": "V"})
    row = await repos.stations.get("CP1")
    assert row is not None and row["vendor"] == "V"
    assert row["last_seen"] == berlin and row["last_seen"].tzinfo is UTC


async def test_record_connect_creates_or_updates(repos: Repositories) -> None:
    stations = repos.stations
    values = {"connected": True, "ocpp_version": "1.6", "last_seen": AT}
    row, created = await stations.record_connect("CP1", values, create=_station("CP1", **values))
    assert created and row is not None and row["connected"] and row["ocpp_version"] == "1.6"
    again = {"connected": True, "ocpp_version": "2.0.1", "last_seen": AT}
    row, created = await stations.record_connect("CP1", again, create=_station("CP1", **again))
    assert not created and row is not None and row["ocpp_version"] == "2.0.1"
    assert await stations.record_connect("CP2", values, create=None) == (None, False)
    assert await stations.get("CP2") is None


async def test_record_boot_sets_columns_and_stores_the_event(repos: Repositories) -> None:
    stations = repos.stations
    await stations.insert(_station("CP1"))
    event = {"at": AT, "kind": "Boot", "data": {"reason": "PowerUp"}}
    await stations.record_boot("CP1", {"vendor": "V", "last_boot": AT}, event)
    await stations.record_boot("CP1", {"model": "M"}, None)
    row = await stations.get("CP1")
    assert row is not None and (row["vendor"], row["model"], row["last_boot"]) == ("V", "M", AT)
    rows, total = await stations.events("CP1", kind=None, limit=10, offset=0)
    assert total == 1 and rows[0]["kind"] == "Boot" and rows[0]["data"] == {"reason": "PowerUp"}


async def test_touch_sets_last_seen_and_touched_waits_for_it(repos: Repositories) -> None:
    stations = repos.stations
    await stations.insert(_station("CP1"))
    await stations.insert(_station("CP2"))
    first = stations.touch("CP1", AT)
    stations.touch("CP2", AT + timedelta(seconds=1))
    stations.touch("CP1", AT + timedelta(seconds=2))  # the latest wins
    stations.touch("UNKNOWN", AT)  # ignored
    await first
    await stations.touched()
    seen = [(await stations.get(s) or {}).get("last_seen") for s in ("CP1", "CP2")]
    assert seen == [AT + timedelta(seconds=2), AT + timedelta(seconds=1)]


async def test_page_filters_and_counts(repos: Repositories) -> None:
    for name in ("C", "A", "B"):
        await repos.stations.insert(_station(name, connected=name != "B"))
    rows, total = await repos.stations.page(limit=2, offset=0)
    assert [r["id"] for r in rows] == ["A", "B"] and total == 3
    rows, total = await repos.stations.page(limit=10, offset=1, connected=True)
    assert [r["id"] for r in rows] == ["C"] and total == 2
    assert await repos.stations.mark_all_disconnected() == 2
    assert await repos.stations.mark_all_disconnected() == 0


async def test_connector_status_and_bare_evses(repos: Repositories) -> None:
    stations = repos.stations
    await stations.insert(_station("CP1"))
    await stations.insert(_station("CP2"))
    await stations.set_connector_status("CP1", 2, 1, STATUS, AT)
    await stations.set_connector_status("CP1", 1, 2, STATUS, AT)
    await stations.set_connector_status("CP1", 1, 1, {**STATUS, "status": "Charging"}, AT)
    await stations.set_connector_status("CP1", 1, 1, {**STATUS, "status": "Faulted"}, AT)
    await stations.set_connector_status("CP2", 3, None, STATUS, AT)
    rows = await stations.connectors(["CP1", "CP2"])
    keys = [(r["station_id"], r["evse_id"], r["connector_id"]) for r in rows]
    assert keys == [("CP1", 1, 1), ("CP1", 1, 2), ("CP1", 2, 1), ("CP2", 3, None)]
    assert rows[0]["status"] == "Faulted" and rows[0]["status_at"] == AT
    assert rows[3]["status"] is None
    assert await stations.connectors([]) == []


async def test_configuration_is_replaced_by_key(repos: Repositories) -> None:
    stations = repos.stations
    await stations.insert(_station("CP1"))
    rows = [
        {"key": "B", "value": "1", "readonly": False, "updated_at": AT},
        {"key": "A", "value": "x", "readonly": True, "updated_at": AT},
    ]
    await stations.put_configuration("CP1", rows)
    await stations.put_configuration("CP1", [{**rows[0], "value": "2"}])
    await stations.put_configuration("CP1", [])
    stored = await stations.configuration("CP1")
    assert [(r["key"], r["value"], r["readonly"]) for r in stored] == [
        ("A", "x", True),
        ("B", "2", False),
    ]


def _variable(**values: Any) -> dict[str, Any]:
    return {
        "station_id": "CP1",
        "component": "OCPPCommCtrlr",
        "component_instance": "",
        "evse_id": 0,
        "connector_id": 0,
        "variable": "HeartbeatInterval",
        "variable_instance": "",
        "attribute_type": "Actual",
        "value": "60",
        "mutability": "ReadWrite",
        "data_type": "integer",
        "unit": "s",
        "updated_at": AT,
        **values,
    }


async def test_variables_keep_stated_metadata_when_a_later_report_omits_it(
    repos: Repositories,
) -> None:
    stations = repos.stations
    await stations.insert(_station("CP1"))
    await stations.put_variables(
        [_variable(), _variable(component="AuthCtrlr", variable="Enabled")]
    )
    await stations.put_variables(
        [_variable(value="30", mutability=None, data_type=None, unit=None)]
    )
    rows = await stations.variables("CP1", component="OCPPCommCtrlr")
    assert len(rows) == 1
    assert (rows[0]["value"], rows[0]["mutability"], rows[0]["unit"]) == ("30", "ReadWrite", "s")
    assert [r["component"] for r in await stations.variables("CP1")] == [
        "AuthCtrlr",
        "OCPPCommCtrlr",
    ]


async def test_events_newest_first_by_kind(repos: Repositories) -> None:
    stations = repos.stations
    await stations.insert(_station("CP1"))
    ids = [
        await stations.add_event({"station_id": "CP1", "at": AT, "kind": kind, "data": {"n": n}})
        for n, kind in enumerate(["A", "B", "A"])
    ]
    assert ids == sorted(ids) and len(set(ids)) == 3
    rows, total = await stations.events("CP1", kind="A", limit=1, offset=0)
    assert total == 2 and rows[0]["id"] == ids[2] and rows[0]["data"] == {"n": 2}


async def test_delete_takes_everything_of_the_station(repos: Repositories) -> None:
    stations = repos.stations
    for name in ("CP1", "CP2"):
        await stations.insert(_station(name))
        await stations.set_connector_status(name, 1, 1, STATUS, AT)
        await stations.add_event({"station_id": name, "at": AT, "kind": "K", "data": {}})
        step = TransactionStep(
            station_id=name,
            decide=lambda row, created, new: {},
            key="tx:1",
            create={
                "station_id": name,
                "dedup_key": "tx:1",
                "status": "active",
                "started_at": AT,
                "updated_at": AT,
            },
            samples=[SampledValue(Decimal(1), AT)],
        )
        outcome = await repos.transactions.record(step)
        assert outcome.created and outcome.new_samples == 1
        # and one sample outside any transaction
        alone = TransactionStep(
            station_id=name,
            decide=lambda row, created, new: {},
            evse_id=1,
            connector_id=1,
            samples=[SampledValue(Decimal(2), AT)],
        )
        assert (await repos.transactions.record(alone)).new_samples == 1
    tx = await repos.transactions.get_by_key("CP1", "tx:1")
    assert tx is not None
    assert await stations.delete("CP1")
    assert not await stations.delete("CP1")
    assert await stations.get("CP1") is None
    assert await stations.connectors(["CP1"]) == []
    assert (await stations.events("CP1", kind=None, limit=5, offset=0))[1] == 0
    assert await repos.transactions.get(tx["id"]) is None
    # Samples of CP1 outside a transaction went too: the same sample is new again.
    await stations.insert(_station("CP1"))
    again = TransactionStep(
        station_id="CP1",
        decide=lambda row, created, new: {},
        evse_id=1,
        connector_id=1,
        samples=[SampledValue(Decimal(2), AT)],
    )
    assert (await repos.transactions.record(again)).new_samples == 1
    other = await repos.transactions.get_by_key("CP2", "tx:1")
    assert other is not None
    assert (await repos.transactions.meter_values(other["id"], limit=5, offset=0))[1] == 1
