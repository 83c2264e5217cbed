"""OCPP 2.0.1 and 2.1 handlers over real sockets (the same tests for both versions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kilowatt.csms.model import IdTokenInput
from kilowatt.ocpp import v21, v201
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.ocpp.version import OcppVersion

from .conftest import Csms, Station21, Station201, settled

VERSIONS = {OcppVersion.V201: (v201, Station201), OcppVersion.V21: (v21, Station21)}


@pytest.fixture(params=list(VERSIONS), ids=["2.0.1", "2.1"])
def version(request: pytest.FixtureRequest) -> OcppVersion:
    return OcppVersion(request.param)


def connect(csms: Csms, version: OcppVersion, identity: str = "CS2"):  # type: ignore[no-untyped-def]
    return csms.connect(identity, VERSIONS[version][1], version)


def tx_event(m: Any, event: str, seq: int, tx: str = "TX-1", **kwargs: Any) -> Any:
    info = kwargs.pop("info", {})
    return m.TransactionEventRequest(
        event_type=m.TransactionEvent(event),
        timestamp=kwargs.pop("timestamp", f"2025-03-01T10:{seq:02d}:00Z"),
        trigger_reason=m.TriggerReason(kwargs.pop("trigger", "Authorized")),
        seq_no=seq,
        transaction_info=m.Transaction(transaction_id=tx, **info),
        **kwargs,
    )


def energy(
    m: Any, wh: str, context: str = "Sample.Periodic", at: str = "2025-03-01T10:05:00Z"
) -> Any:
    return [
        m.MeterValue(
            timestamp=at,
            sampled_value=[
                m.SampledValue(
                    value=Decimal(wh),
                    context=m.ReadingContext(context),
                    unit_of_measure=m.UnitOfMeasure(unit="kWh", multiplier=0),
                )
            ],
        )
    ]


async def test_boot_status_and_device_model(csms: Csms, version: OcppVersion) -> None:
    m = VERSIONS[version][0]
    async with connect(csms, version) as cs:
        boot = await cs.call(
            m.BootNotificationRequest(
                charging_station=m.ChargingStation(model="X2", vendor_name="Acme"),
                reason=m.BootReason("PowerUp"),
            )
        )
        assert boot.status.value == "Accepted" and boot.interval == 120
        await cs.call(
            m.StatusNotificationRequest(
                timestamp="2025-03-01T10:00:00Z",
                connector_status=m.ConnectorStatus("Occupied"),
                evse_id=1,
                connector_id=1,
            )
        )
        report = m.ReportData(
            component=m.Component(name="OCPPCommCtrlr"),
            variable=m.Variable(name="HeartbeatInterval"),
            variable_attribute=[
                m.VariableAttribute(value="120", mutability=m.Mutability("ReadWrite"))
            ],
            variable_characteristics=m.VariableCharacteristics(
                data_type=m.Data("integer"), supports_monitoring=False, unit="s"
            ),
        )
        await cs.call(
            m.NotifyReportRequest(
                request_id=1, generated_at="2025-03-01T10:00:00Z", seq_no=0, report_data=[report]
            )
        )
        await cs.call(
            m.NotifyEventRequest(
                generated_at="2025-03-01T10:01:00Z",
                seq_no=0,
                event_data=[
                    m.EventData(
                        event_id=1,
                        timestamp="2025-03-01T10:01:00Z",
                        trigger=m.EventTrigger("Delta"),
                        actual_value="90",
                        event_notification_type=m.EventNotification("HardWiredNotification"),
                        component=m.Component(name="OCPPCommCtrlr"),
                        variable=m.Variable(name="HeartbeatInterval"),
                    )
                ],
            )
        )
    station = await csms.services.stations.get("CS2")
    assert (station.vendor, station.model, station.ocpp_version) == ("Acme", "X2", version.value)
    assert station.evses[0].connectors[0].status == "Occupied"
    (variable,) = await csms.services.stations.variables("CS2")
    # The event updated the value; what NotifyReport said about the variable is kept.
    assert (variable.value, variable.mutability, variable.unit) == ("90", "ReadWrite", "s")
    kinds = {e.kind for e in (await csms.services.stations.events("CS2")).items}
    assert {"Boot", "NotifyReport", "NotifyEvent"} <= kinds


async def test_transaction_events_with_replay(csms: Csms, version: OcppVersion) -> None:
    m = VERSIONS[version][0]
    await csms.services.authorization.put("TOKEN-1", IdTokenInput(type="ISO14443"))
    token = m.IdToken(id_token="TOKEN-1", type="ISO14443")
    started = tx_event(
        m,
        "Started",
        0,
        evse=m.EVSE(id=1, connector_id=1),
        id_token=token,
        meter_value=energy(m, "10.000", "Transaction.Begin", "2025-03-01T10:00:00Z"),
        info={"charging_state": m.ChargingState("Charging")},
    )
    async with connect(csms, version) as cs:
        answer = await cs.call(started)
        assert answer.id_token_info.status.value == "Accepted"
        tx = await csms.services.transactions.find_by_station_tx_id("CS2", "TX-1")
        assert tx is not None and tx.status == "active"  # committed before the answer
        await cs.call(started)  # replay
        updated = tx_event(
            m, "Updated", 1, trigger="MeterValuePeriodic", meter_value=energy(m, "12.5")
        )
        await cs.call(updated)
        await cs.call(updated)
        ended = tx_event(
            m,
            "Ended",
            2,
            trigger="EVCommunicationLost",
            meter_value=energy(m, "15.25", "Transaction.End", "2025-03-01T10:30:00Z"),
            info={"stopped_reason": m.Reason("EVDisconnected")},
        )
        await cs.call(ended)
    page = await csms.services.transactions.list(station_id="CS2")
    assert page.total == 1
    tx = page.items[0]
    assert tx.status == "completed"
    assert (tx.meter_start_wh, tx.meter_stop_wh, tx.energy_wh) == (10000, 15250, 5250)
    assert (tx.evse_id, tx.connector_id, tx.id_token) == (1, 1, "TOKEN-1")
    assert tx.stop_reason == "EVDisconnected" and tx.last_seq_no == 2
    samples = await csms.services.transactions.meter_values(tx.id)
    assert samples.total == 3


async def test_remote_start_is_linked_and_stop_uses_station_id(
    csms: Csms, version: OcppVersion
) -> None:
    m = VERSIONS[version][0]
    async with connect(csms, version) as cs:
        await cs.call(m.HeartbeatRequest())
        result = await csms.gateway.command(
            "CS2", "start-transaction", {"id_token": "APP-7", "evse_id": 1}, 5
        )
        assert result["status"] == "Accepted"
        sent = cs.received[-1]
        assert sent.remote_start_id == result["remote_start_id"]
        assert (sent.id_token.id_token, sent.evse_id) == ("APP-7", 1)
        await cs.call(
            tx_event(
                m,
                "Started",
                0,
                tx="REMOTE-1",
                trigger="RemoteStart",
                evse=m.EVSE(id=1),
                info={"remote_start_id": sent.remote_start_id},
            )
        )
        tx = await csms.services.transactions.find_by_station_tx_id("CS2", "REMOTE-1")
        assert tx is not None and tx.remote_start_id == result["remote_start_id"]
        stop = await csms.gateway.command("CS2", "stop-transaction", {"transaction_id": tx.id}, 5)
        assert stop == {"status": "Accepted"}
        assert cs.received[-1].transaction_id == "REMOTE-1"
        reset = await csms.gateway.command("CS2", "reset", {"type": "soft"}, 5)
        assert reset == {"status": "Scheduled"}
        assert cs.received[-1].type.value == "OnIdle"


async def test_configuration_shape_over_device_model(csms: Csms, version: OcppVersion) -> None:
    async with connect(csms, version) as cs:
        await cs.call(VERSIONS[version][0].HeartbeatRequest())
        got = await csms.gateway.command(
            "CS2", "get-configuration", {"keys": ["HeartbeatInterval", "Foo.Bar", "junk"]}, 5
        )
        request = cs.received[-1]
        assert [(d.component.name, d.variable.name) for d in request.get_variable_data] == [
            ("OCPPCommCtrlr", "HeartbeatInterval"),
            ("Foo", "Bar"),
        ]
        assert got == {
            "configuration": [{"key": "HeartbeatInterval", "value": "120", "readonly": False}],
            "unknown": ["junk", "Foo.Bar"],
        }
        changed = await csms.gateway.command(
            "CS2", "set-configuration", {"key": "OCPPCommCtrlr.HeartbeatInterval", "value": "60"}, 5
        )
        assert changed == {"status": "Accepted", "attribute_status": "Accepted"}
    stored = await csms.services.stations.variables("CS2")
    assert [(v.component, v.variable, v.value) for v in stored] == [
        ("OCPPCommCtrlr", "HeartbeatInterval", "60")
    ]


async def test_honest_answers(csms: Csms, version: OcppVersion) -> None:
    m = VERSIONS[version][0]
    async with connect(csms, version) as cs:
        transfer = await cs.call(m.DataTransferRequest(vendor_id="com.acme", data={"n": 1}))
        assert transfer.status.value == "UnknownVendorId"
        sign = await cs.call(m.SignCertificateRequest(csr="CSR"))
        assert sign.status.value == "Rejected"
        with pytest.raises(CallError) as error:
            await cs.call(
                m.Get15118EVCertificateRequest(
                    iso15118_schema_version="urn:iso:15118:2:2013:MsgDef",
                    action=m.CertificateAction("Install"),
                    exi_request="AAAA",
                )
            )
        assert error.value.code == ErrorCode.NOT_SUPPORTED
        needs = await cs.call(
            m.NotifyEVChargingNeedsRequest(
                evse_id=1,
                charging_needs=m.ChargingNeeds(
                    requested_energy_transfer=m.EnergyTransferMode("DC")
                ),
            )
        )
        # Kilowatt computes no charging schedule: it says so (2.1 has a value for it).
        expected = "Rejected" if version is OcppVersion.V201 else "NoChargingProfile"
        assert needs.status.value == expected
        await cs.call(
            m.ReservationStatusUpdateRequest(
                reservation_id=4, reservation_update_status=m.ReservationUpdateStatus("Expired")
            )
        )
    events = {e.kind: e.data for e in (await csms.services.stations.events("CS2")).items}
    assert events["ReservationStatusUpdate"] == {
        "reservationId": 4,
        "reservationUpdateStatus": "Expired",
    }
    assert events["DataTransfer"]["vendorId"] == "com.acme"


async def test_21_periodic_event_stream_send_is_stored(csms: Csms) -> None:
    async with connect(csms, OcppVersion.V21) as cs:
        await cs.call(v21.HeartbeatRequest())
        await cs.send(
            v21.NotifyPeriodicEventStreamRequest(
                data=[v21.StreamDataElement(t=Decimal("0.5"), v="230.1")],
                id=3,
                pending=0,
                basetime="2025-03-01T10:00:00Z",
            )
        )
        await cs.call(v21.HeartbeatRequest())  # the SEND was written before this CALL

        async def stored() -> bool:
            events = await csms.services.stations.events("CS2", kind="NotifyPeriodicEventStream")
            return events.total == 1

        assert await settled(stored)
