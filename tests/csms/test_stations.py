"""Stations: registration policy, passwords, boot, status, device model, notifications."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from typing import Any as Clock  # the settable clock fixture of conftest.py

import pytest

from kilowatt.config import Settings
from kilowatt.csms import AlreadyExists, NotFound, Services, ValidationError
from kilowatt.csms.events import StationBooted, StationConnected, StatusChanged
from kilowatt.csms.model import (
    BootInfo,
    ConfigurationEntry,
    ConnectDecision,
    RegistrationStatus,
    StatusReport,
    VariableReport,
)
from kilowatt.csms.stations import MAX_EVENT_DATA_BYTES
from kilowatt.storage import Database
from kilowatt.storage.sql import SqlRepositories

PASSWORD = "0123456789abcdef"


async def test_open_registration_creates_on_connect(services: Services) -> None:
    sub = services.bus.subscribe(StationConnected)
    assert (
        await services.stations.check_connection("NEW", None, tls=False) is ConnectDecision.ACCEPT
    )
    info = await services.stations.connected("NEW", "2.0.1")
    assert info.connected and info.ocpp_version == "2.0.1"
    event = await sub.get()
    assert isinstance(event, StationConnected) and event.created
    await services.stations.disconnected("NEW")
    assert not (await services.stations.get("NEW")).connected


async def test_known_registration_and_passwords(db: Database, clock: Clock) -> None:
    services = Services.create(SqlRepositories(db), Settings(registration="known"), clock=clock)
    stations = services.stations
    assert await stations.check_connection("X", None, tls=False) is ConnectDecision.UNKNOWN
    with pytest.raises(NotFound):
        await stations.connected("X", "1.6")

    await stations.register("P1", security_profile=1, password=PASSWORD)
    assert await stations.check_connection("P1", PASSWORD, tls=False) is ConnectDecision.ACCEPT
    assert await stations.check_connection("P1", "wrong-password-xx", tls=False) is (
        ConnectDecision.UNAUTHORIZED
    )
    assert await stations.check_connection("P1", None, tls=False) is ConnectDecision.UNAUTHORIZED

    await stations.register("P2", security_profile=2, password=PASSWORD)
    assert await stations.check_connection("P2", PASSWORD, tls=True) is ConnectDecision.ACCEPT
    # Downgrade to plain ws:// is refused even with the right password.
    assert await stations.check_connection("P2", PASSWORD, tls=False) is (
        ConnectDecision.UNAUTHORIZED
    )
    info = await stations.get("P2")
    assert info.has_password and info.security_profile == 2

    with pytest.raises(AlreadyExists):
        await stations.register("P1")
    with pytest.raises(ValidationError):
        await stations.register("P3", security_profile=1)  # no password
    with pytest.raises(ValidationError):
        await stations.register("P3", security_profile=1, password="short")
    with pytest.raises(ValidationError):
        await stations.register("bad:id")

    updated = await stations.update("P1", security_profile=0, location_id="LOC1")
    assert updated.security_profile == 0 and updated.location_id == "LOC1"
    await stations.delete("P1")
    with pytest.raises(NotFound):
        await stations.get("P1")


async def test_boot_heartbeat_status(services: Services, clock: Clock) -> None:
    sub = services.bus.subscribe(StationBooted, StatusChanged)
    await services.stations.connected("CP1", "1.6")
    result = await services.stations.boot(
        "CP1", BootInfo("ACME", "Fast", serial_number="S1", firmware_version="1.2")
    )
    assert result.status is RegistrationStatus.ACCEPTED and result.interval == 60
    clock.advance(30)
    assert await services.stations.heartbeat("CP1") == clock.now
    await services.stations.status_notification("CP1", StatusReport(1, 1, "Charging", "NoError"))
    await services.stations.status_notification("CP1", StatusReport(0, 0, "Available"))
    await services.stations.status_notification("CP1", StatusReport(2, 1, "Available"))
    await services.stations.status_notification("CP1", StatusReport(1, 1, "Finishing"))
    info = await services.stations.get("CP1")
    assert (info.vendor, info.model, info.serial_number, info.firmware_version) == (
        "ACME",
        "Fast",
        "S1",
        "1.2",
    )
    assert info.last_seen == clock.now and info.last_boot == clock.now - timedelta(seconds=30)
    assert [
        (e.evse_id, [(c.connector_id, c.status) for c in e.connectors]) for e in info.evses
    ] == [
        (0, [(0, "Available")]),
        (1, [(1, "Finishing")]),
        (2, [(1, "Available")]),
    ]
    page = await services.stations.list()
    assert page.total == 1 and page.items[0].evses == info.evses
    assert isinstance(await sub.get(), StationBooted)
    assert isinstance(await sub.get(), StatusChanged)


async def test_boot_status_from_settings(db: Database) -> None:
    services = Services.create(
        SqlRepositories(db), Settings(boot_status="Pending", heartbeat_interval=5)
    )
    await services.stations.connected("CP1", "2.1")
    result = await services.stations.boot("CP1", BootInfo("A", "B", reason="PowerUp"))
    assert (result.status, result.interval) == (RegistrationStatus.PENDING, 5)
    events = await services.stations.events("CP1", kind="Boot")
    assert events.items[0].data == {"reason": "PowerUp"}


async def test_device_model_configuration_and_events(services: Services) -> None:
    await services.stations.connected("CP1", "2.0.1")
    reports = [
        VariableReport("OCPPCommCtrlr", "HeartbeatInterval", value="60", mutability="ReadWrite"),
        VariableReport("EVSE", "Power", value="22000", evse_id=1, unit="W"),
    ]
    await services.stations.store_variables("CP1", reports)
    await services.stations.store_variables(
        "CP1", [VariableReport("OCPPCommCtrlr", "HeartbeatInterval", value="30")]
    )
    stored = await services.stations.variables("CP1")
    assert [(v.component, v.variable, v.value, v.evse_id) for v in stored] == [
        ("EVSE", "Power", "22000", 1),
        ("OCPPCommCtrlr", "HeartbeatInterval", "30", None),
    ]
    await services.stations.store_configuration(
        "CP1", [ConfigurationEntry("HeartbeatInterval", "60"), ConfigurationEntry("X", None, True)]
    )
    config = await services.stations.configuration("CP1")
    assert config == [
        ConfigurationEntry("HeartbeatInterval", "60"),
        ConfigurationEntry("X", None, True),
    ]

    data = {"type": "FirmwareUpdated", "techInfo": "ok", "nested": {"a": [1, 2]}}
    info = await services.stations.record_event("CP1", "SecurityEventNotification", data)
    page = await services.stations.events("CP1")
    assert page.total == 1 and page.items[0].data == data and page.items[0].id == info.id


async def test_a_huge_event_payload_is_stored_as_its_placeholder(services: Services) -> None:
    # A 4 MiB DataTransfer must not add 4 MiB to the database and to every SSE client.
    await services.stations.connected("CP1", "1.6")
    data = {"vendorId": "V", "data": "é" * (2 * 1024 * 1024)}
    encoded = json.dumps(data, ensure_ascii=False).encode()
    info = await services.stations.record_event("CP1", "DataTransfer", data)
    stored = (await services.stations.events("CP1")).items[0].data
    assert stored == info.data
    assert stored["truncated"] is True and stored["size"] == len(encoded)
    assert stored["sha256"] == hashlib.sha256(encoded).hexdigest()
    assert len(json.dumps(stored).encode()) <= MAX_EVENT_DATA_BYTES
    small = {"vendorId": "V", "data": "x" * 1000}
    assert (await services.stations.record_event("CP1", "DataTransfer", small)).data == small


async def test_heartbeat_answers_before_the_last_seen_commit(
    services: Services, db: Database, clock: Clock
) -> None:
    # A Heartbeat carries no data to make durable: it returns while the writer is still busy,
    # and a read through the service waits for the pending last_seen write.
    await services.stations.connected("HB", "1.6")
    release = asyncio.Event()

    async def busy(conn: object) -> None:
        await release.wait()

    blocker = asyncio.ensure_future(db.write(busy))
    await asyncio.sleep(0)
    clock.advance(10)
    assert await asyncio.wait_for(services.stations.heartbeat("HB"), 5) == clock.now
    reading = asyncio.ensure_future(services.stations.get("HB"))
    await asyncio.sleep(0.05)
    assert not reading.done()
    release.set()
    await blocker
    assert (await reading).last_seen == clock.now
