"""Secrets masked in station events, stored settings and log lines (issue 12 item 6).

The rule (:mod:`kilowatt.csms.secrets`) on its own; then the services on each database: a
station event carrying a password is stored and published masked, a 1.6 ``AuthorizationKey``
and a 2.x ``BasicAuthPassword`` are stored masked (other settings untouched), and the logfmt
formatter redacts credentials in messages and tracebacks. Migration 0005 masks what earlier
versions stored in clear.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from kilowatt.config import Settings
from kilowatt.csms import Services
from kilowatt.csms.events import StationEventRecorded
from kilowatt.csms.model import ConfigurationEntry, VariableReport
from kilowatt.csms.secrets import MASK, is_secret_setting, mask_json, mask_setting
from kilowatt.handlers.secrets import MASK as JOURNAL_MASK
from kilowatt.logs import LogfmtFormatter, redact_credentials
from kilowatt.storage import Database
from kilowatt.storage.sql import SqlRepositories

SECRET = "Zm9vYmFyLXNlY3JldC0wMTIz-pw"


def test_one_mask_for_journal_settings_and_events() -> None:
    assert JOURNAL_MASK is MASK
    assert is_secret_setting("AuthorizationKey") and is_secret_setting("basicauthpassword")
    assert not is_secret_setting("HeartbeatInterval") and not is_secret_setting(None)
    assert mask_setting("AUTHORIZATIONKEY", SECRET) == MASK
    assert mask_setting("BasicAuthPassword", None) is None  # no value: nothing to hide
    assert mask_setting("HeartbeatInterval", "60") == "60"


def test_mask_json_fields_settings_and_nesting() -> None:
    data: dict[str, Any] = {
        "connectionData": {
            "basicAuthPassword": SECRET,
            "apn": {"apnPassword": SECRET, "apn": "internet"},
            "vpn": {"password": SECRET, "server": "vpn.example"},
        },
        "items": [
            {"key": "AuthorizationKey", "value": SECRET, "readonly": False},
            {"key": "HeartbeatInterval", "value": "60"},
            {
                "variable": {"name": "BasicAuthPassword"},
                "attributeValue": SECRET,
                "variableAttribute": [{"type": "Actual", "value": SECRET}, {"type": "Target"}],
            },
        ],
        "vendor": {"privateKey": SECRET, "certificate": "-----BEGIN CERTIFICATE-----"},
    }
    before = json.dumps(data)
    masked = mask_json(data)
    assert SECRET not in json.dumps(masked)
    assert json.dumps(data) == before  # the input is not modified
    assert masked["connectionData"]["apn"]["apn"] == "internet"
    assert masked["items"][1] == {"key": "HeartbeatInterval", "value": "60"}
    assert masked["items"][2]["variableAttribute"] == [
        {"type": "Actual", "value": MASK},
        {"type": "Target"},
    ]
    assert masked["vendor"]["certificate"] == data["vendor"]["certificate"]  # public


def test_mask_json_returns_its_input_without_secrets() -> None:
    data = {"status": "Accepted", "list": [1, {"key": "HeartbeatInterval", "value": "60"}]}
    assert mask_json(data) is data
    assert mask_json("text") == "text" and mask_json(None) is None
    assert mask_json({"password": None}) == {"password": None}  # absent stays absent


async def test_station_event_is_stored_and_published_masked(services: Services) -> None:
    await services.stations.register("EVT-1")
    subscription = services.bus.subscribe(StationEventRecorded)
    payload = {"vendorId": "acme", "data": {"password": SECRET, "note": "kept"}}
    info = await services.stations.record_event("EVT-1", "DataTransfer", payload)
    event = await subscription.get()
    assert isinstance(event, StationEventRecorded)
    for data in (info.data, event.data):
        assert data == {"vendorId": "acme", "data": {"password": MASK, "note": "kept"}}
    page = await services.stations.events("EVT-1")
    assert [e.data for e in page.items] == [info.data]
    assert payload["data"] == {"password": SECRET, "note": "kept"}  # the caller's copy


async def test_settings_are_stored_masked(services: Services) -> None:
    await services.stations.register("CFG-1")
    await services.stations.store_configuration(
        "CFG-1",
        [
            ConfigurationEntry("AuthorizationKey", SECRET),
            ConfigurationEntry("HeartbeatInterval", "60"),
        ],
    )
    stored = {e.key: e.value for e in await services.stations.configuration("CFG-1")}
    assert stored == {"AuthorizationKey": MASK, "HeartbeatInterval": "60"}
    await services.stations.store_variables(
        "CFG-1",
        [
            VariableReport("SecurityCtrlr", "BasicAuthPassword", value=SECRET),
            VariableReport("SecurityCtrlr", "SecurityProfile", value="1"),
        ],
    )
    variables = {v.variable: v.value for v in await services.stations.variables("CFG-1")}
    assert variables == {"BasicAuthPassword": MASK, "SecurityProfile": "1"}


def _record(message: str, *args: Any, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("kilowatt.test", logging.INFO, __file__, 1, message, args, info)


def test_log_lines_redact_credentials() -> None:
    basic = "Q1AtMTpmaXJzdC1zdGF0aW9uLXBhc3N3b3Jk"
    formatter = LogfmtFormatter()
    line = formatter.format(_record("< Authorization: Basic %s", basic))
    assert basic not in line and "Basic ********" in line
    try:
        raise RuntimeError(f"headers {{'authorization': 'Token {SECRET}'}}")
    except RuntimeError as exc:
        line = formatter.format(_record("failed", exc=exc))
    assert sys.exc_info() == (None, None, None)
    assert SECRET not in line and "Token ********" in line
    assert redact_credentials("Bearer " + SECRET) == "Bearer ********"
    plain = 'HTTP Request: GET http://127.0.0.1/ocpi/versions "HTTP/1.1 200 OK"'
    assert redact_credentials(plain) == plain


async def test_upgrade_masks_passwords_stored_by_earlier_versions(
    database_url: str, settings: Settings
) -> None:
    db = Database(database_url)
    try:
        await db.migrate("0004_meter_values_key")
        services = Services.create(SqlRepositories(db), settings)
        await services.stations.register("OLD-1")
        now = datetime.now(UTC)

        async def clear_rows(conn: Any) -> None:  # what versions before 0005 stored
            for key, value in [("AuthorizationKey", SECRET), ("HeartbeatInterval", "60")]:
                await conn.execute(
                    text(
                        "INSERT INTO configuration_keys (station_id, key, value, readonly,"
                        " updated_at) VALUES ('OLD-1', :key, :value, false, :now)"
                    ),
                    {"key": key, "value": value, "now": now},
                )
            for variable, value in [("BasicAuthPassword", SECRET), ("SecurityProfile", "1")]:
                await conn.execute(
                    text(
                        "INSERT INTO device_variables (station_id, component,"
                        " component_instance, evse_id, connector_id, variable,"
                        " variable_instance, attribute_type, value, updated_at) VALUES"
                        " ('OLD-1', 'SecurityCtrlr', '', 0, 0, :variable, '', 'Actual',"
                        " :value, :now)"
                    ),
                    {"variable": variable, "value": value, "now": now},
                )

        await db.write(clear_rows)
        await db.migrate()
        stored = {e.key: e.value for e in await services.stations.configuration("OLD-1")}
        assert stored == {"AuthorizationKey": MASK, "HeartbeatInterval": "60"}
        variables = {v.variable: v.value for v in await services.stations.variables("OLD-1")}
        assert variables == {"BasicAuthPassword": MASK, "SecurityProfile": "1"}
    finally:
        await db.close()
