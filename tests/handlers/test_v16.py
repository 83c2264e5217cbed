"""OCPP 1.6 handlers: a typed 1.6 station against the CSMS handlers, connected in memory; one
test over a whole node's real socket."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kilowatt.app import Kilowatt
from kilowatt.csms.gateway import (
    InvalidCommand,
    InvalidPayload,
    StationCallError,
    StationNotConnected,
    UnknownAction,
)
from kilowatt.csms.model import IdTokenInput
from kilowatt.ocpp import v16
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport import connect_ocpp

from .conftest import Csms, Station16, ocpp_url, settled

TS = "2025-03-01T10:00:00Z"


def connect(csms: Csms, identity: str = "CP16"):  # type: ignore[no-untyped-def]
    return csms.connect(identity, Station16, OcppVersion.V16)


async def test_boot_heartbeat_status_are_stored(csms: Csms) -> None:
    async with connect(csms) as cp:
        boot = await cp.call(
            v16.BootNotificationRequest(
                charge_point_vendor="Acme",
                charge_point_model="Volt 1",
                charge_point_serial_number="SN-1",
                firmware_version="1.2.3",
                iccid="8931",
            )
        )
        assert boot.status == v16.BootNotificationStatus.ACCEPTED
        assert boot.interval == 120
        beat = await cp.call(v16.HeartbeatRequest())
        assert beat.current_time.endswith("Z")
        await cp.call(
            v16.StatusNotificationRequest(
                connector_id=1,
                error_code=v16.StatusNotificationErrorCode.NO_ERROR,
                status=v16.StatusNotificationStatus.AVAILABLE,
                timestamp=TS,
            )
        )
        station = await csms.services.stations.get("CP16")
        assert csms.gateway.is_connected("CP16")
    assert (station.vendor, station.model, station.serial_number) == ("Acme", "Volt 1", "SN-1")
    assert station.firmware_version == "1.2.3"
    assert station.ocpp_version == "1.6"
    assert station.connected
    (evse,) = station.evses
    assert evse.evse_id == 1
    assert evse.connectors[0].status == "Available"
    assert evse.connectors[0].error_code == "NoError"


async def test_authorize_uses_stored_tokens(csms: Csms) -> None:
    await csms.services.authorization.put("GOOD", IdTokenInput(group_id="FLEET"))
    async with connect(csms) as cp:
        good = await cp.call(v16.AuthorizeRequest(id_tag="GOOD"))
        unknown = await cp.call(v16.AuthorizeRequest(id_tag="NOBODY"))
    assert good.id_tag_info.status == v16.IdTagInfoStatus.ACCEPTED
    assert good.id_tag_info.parent_id_tag == "FLEET"
    # Unknown is 2.x only: a 1.6 station is told Invalid.
    assert unknown.id_tag_info.status == v16.IdTagInfoStatus.INVALID


async def test_session_is_committed_before_answer_and_replay_is_idempotent(
    csms: Csms,
) -> None:
    await csms.services.authorization.put("TAG1", IdTokenInput())
    start = v16.StartTransactionRequest(
        connector_id=1, id_tag="TAG1", meter_start=1000, timestamp=TS
    )
    async with connect(csms) as cp:
        first = await cp.call(start)
        # Durable acknowledgement: once answered, the transaction is readable from the database.
        tx = await csms.services.transactions.get(first.transaction_id)
        assert tx.status == "active"
        replay = await cp.call(start)
        assert replay.transaction_id == first.transaction_id
        assert first.id_tag_info.status == v16.IdTagInfoStatus.ACCEPTED
        meter = v16.MeterValuesRequest(
            connector_id=1,
            transaction_id=first.transaction_id,
            meter_value=[
                v16.MeterValue(
                    timestamp="2025-03-01T10:05:00Z",
                    sampled_value=[
                        v16.SampledValue(value="1500.25", unit=v16.Unit.WH),
                        v16.SampledValue(
                            value="7.2",
                            measurand=v16.Measurand.POWER_ACTIVE_IMPORT,
                            unit=v16.Unit.K_W,
                        ),
                    ],
                )
            ],
        )
        await cp.call(meter)
        await cp.call(meter)  # replayed from an offline queue
        stop = v16.StopTransactionRequest(
            meter_stop=2500,
            timestamp="2025-03-01T10:30:00Z",
            transaction_id=first.transaction_id,
            reason=v16.StopTransactionReason.EV_DISCONNECTED,
            id_tag="TAG1",
            transaction_data=[
                v16.TransactionData(
                    timestamp="2025-03-01T10:30:00Z",
                    sampled_value=[
                        v16.StopTransactionSampledValue(
                            value="2500", context=v16.Context.TRANSACTION_END
                        )
                    ],
                )
            ],
        )
        stopped = await cp.call(stop)
        assert stopped.id_tag_info is not None
        await cp.call(stop)
    tx = await csms.services.transactions.get(first.transaction_id)
    assert tx.status == "completed"
    assert (tx.meter_start_wh, tx.meter_stop_wh, tx.energy_wh) == (1000, 2500, 1500)
    assert tx.stop_reason == "EVDisconnected"
    assert tx.started_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    samples = await csms.services.transactions.meter_values(tx.id)
    assert samples.total == 3  # two samples once (replay skipped) + the transactionData one
    values = sorted(s.value for s in samples.items)
    assert values == [Decimal("7.2"), Decimal("1500.25"), Decimal("2500")]
    page = await csms.services.transactions.list(station_id="CP16")
    assert page.total == 1


async def test_notifications_are_stored_and_answered_honestly(csms: Csms) -> None:
    async with connect(csms) as cp:
        transfer = await cp.call(v16.DataTransferRequest(vendor_id="com.acme", data="{}"))
        await cp.call(v16.FirmwareStatusNotificationRequest(status=v16.FirmwareStatus.DOWNLOADED))
        await cp.call(
            v16.DiagnosticsStatusNotificationRequest(
                status=v16.DiagnosticsStatusNotificationStatus.UPLOADED
            )
        )
        await cp.call(
            v16.SecurityEventNotificationRequest(type="TamperDetectionActivated", timestamp=TS)
        )
        sign = await cp.call(v16.SignCertificateRequest(csr="-----BEGIN CERTIFICATE REQUEST-----"))
    assert transfer.status == v16.DataTransferStatus.UNKNOWN_VENDOR_ID
    assert sign.status == v16.GenericStatus.REJECTED
    events = await csms.services.stations.events("CP16", limit=10)
    kinds = {e.kind: e.data for e in events.items}
    assert kinds["FirmwareStatusNotification"] == {"status": "Downloaded"}
    assert kinds["DiagnosticsStatusNotification"] == {"status": "Uploaded"}
    assert kinds["SecurityEventNotification"]["type"] == "TamperDetectionActivated"
    assert kinds["DataTransfer"]["vendorId"] == "com.acme"
    assert "SignCertificate" in kinds


async def test_journal_records_frames_in_and_out(csms: Csms) -> None:
    async with connect(csms) as cp:
        await cp.call(v16.HeartbeatRequest())
    page = await csms.services.journal.list("CP16", limit=10)
    frames = [(e.direction, e.message_type, e.action) for e in reversed(page.items)]
    assert frames == [("in", 2, "Heartbeat"), ("out", 3, "Heartbeat")]
    assert page.items[0].message_id == page.items[1].message_id
    assert '"Heartbeat"' in page.items[1].frame


async def test_commands_are_mapped_to_16_actions(csms: Csms) -> None:
    gateway = csms.gateway
    async with connect(csms) as cp:
        await cp.call(
            v16.BootNotificationRequest(charge_point_vendor="Acme", charge_point_model="M")
        )
        started = await gateway.command(
            "CP16", "start-transaction", {"id_token": "TAG1", "connector_id": 2}, 5
        )
        assert started == {"status": "Accepted"}
        assert cp.received[-1] == v16.RemoteStartTransactionRequest(id_tag="TAG1", connector_id=2)
        with pytest.raises(InvalidCommand):
            await gateway.command("CP16", "start-transaction", {"id_token": "X" * 21}, 5)

        start = v16.StartTransactionRequest(
            connector_id=2, id_tag="TAG1", meter_start=0, timestamp=TS
        )
        tx_id = (await cp.call(start)).transaction_id
        stopped = await gateway.command("CP16", "stop-transaction", {"transaction_id": tx_id}, 5)
        assert stopped == {"status": "Accepted"}
        assert cp.received[-1] == v16.RemoteStopTransactionRequest(transaction_id=tx_id)

        assert await gateway.command("CP16", "reset", {"type": "hard"}, 5) == {"status": "Accepted"}
        assert cp.received[-1] == v16.ResetRequest(type=v16.ResetType.HARD)

        config = await gateway.command(
            "CP16", "get-configuration", {"keys": ["HeartbeatInterval", "Nope"]}, 5
        )
        assert config == {
            "configuration": [{"key": "HeartbeatInterval", "value": "120", "readonly": False}],
            "unknown": ["Nope"],
        }
        changed = await gateway.command(
            "CP16", "set-configuration", {"key": "HeartbeatInterval", "value": 60}, 5
        )
        assert changed == {"status": "Accepted"}
        stored = await csms.services.stations.configuration("CP16")
        assert [(e.key, e.value) for e in stored] == [("HeartbeatInterval", "60")]

        # The station has no handler for UnlockConnector: its CALLERROR reaches the operator.
        with pytest.raises(StationCallError) as error:
            await gateway.command("CP16", "unlock-connector", {"connector_id": 1}, 5)
        assert error.value.code == "NotSupported"
        with pytest.raises(InvalidCommand):
            await gateway.command("CP16", "launch-rocket", {}, 5)


async def test_raw_calls_check_action_and_payload(csms: Csms) -> None:
    gateway = csms.gateway
    async with connect(csms) as cp:
        await cp.call(v16.HeartbeatRequest())  # answered once the connection is registered
        answer = await gateway.call("CP16", "RemoteStartTransaction", {"idTag": "T"}, 5)
        assert answer == {"status": "Accepted"}
        with pytest.raises(InvalidPayload) as invalid:
            await gateway.call("CP16", "RemoteStartTransaction", {"idTag": 5}, 5)
        assert "TypeConstraintViolation" in invalid.value.message
        with pytest.raises(UnknownAction):
            await gateway.call("CP16", "BootNotification", {}, 5)  # station-initiated
        with pytest.raises(UnknownAction):
            await gateway.call("CP16", "RequestStartTransaction", {}, 5)  # 2.x only

    async def disconnected() -> bool:
        return not (await csms.services.stations.get("CP16")).connected

    assert await settled(disconnected)
    with pytest.raises(StationNotConnected):
        await gateway.call("CP16", "Reset", {"type": "Soft"}, 5)


async def test_a_whole_node_serves_a_station_over_its_socket(node: Kilowatt) -> None:
    async with connect_ocpp(ocpp_url(node), "CP16", Station16) as cp:
        boot = await cp.call(
            v16.BootNotificationRequest(charge_point_vendor="Acme", charge_point_model="Volt 1")
        )
        assert boot.status == v16.BootNotificationStatus.ACCEPTED
        assert node.gateway.is_connected("CP16")
        answer = await node.gateway.command("CP16", "reset", {"type": "hard"}, 5)
        assert answer == {"status": "Accepted"}
    assert (await node.services.stations.get("CP16")).vendor == "Acme"
