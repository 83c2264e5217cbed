"""OCPP 1.6 (JSON, with the Security Whitepaper messages): station CALLs ↔ CSMS services.

Every action a 1.6 charge point initiates is handled (OCPP 1.6 §4, Security Whitepaper §4-5):

=================================  ==========================================================
BootNotification (4.2)             station record; configured status and heartbeat interval
Heartbeat (4.6)                    last seen; CSMS time
StatusNotification (4.9)           latest status per connector (connector = EVSE, 0 = station)
Authorize (4.1)                    id token lookup → idTagInfo
StartTransaction (4.8)             transaction (CSMS assigns the integer id); idTagInfo
MeterValues (4.7)                  sampled values, transaction energy
StopTransaction (4.10)             completes the transaction with its transactionData
DataTransfer (4.3)                 stored; UnknownVendorId (no vendor extension is installed)
DiagnosticsStatusNotification,     stored as station events
FirmwareStatusNotification,
LogStatusNotification,
SecurityEventNotification,
SignedFirmwareStatusNotification
SignCertificate                    stored; Rejected: Kilowatt holds no CA that could sign
=================================  ==========================================================

Start/Stop/MeterValues return only after the group commit that holds their data (durable
acknowledgement; the transaction service awaits the batcher). Replays are idempotent (see
:mod:`kilowatt.csms.transactions`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from kilowatt.csms import commands as c
from kilowatt.csms.errors import NotFound
from kilowatt.csms.gateway import InvalidCommand
from kilowatt.csms.model import (
    AuthorizationResult,
    AuthStatus,
    BootInfo,
    ConfigurationEntry,
    StatusReport,
    TransactionMessage,
)
from kilowatt.handlers.base import StationHandler, check_place, handles
from kilowatt.handlers.convert import configuration_text, format_time, parse_time, samples_16
from kilowatt.ocpp import v16
from kilowatt.transport import on

__all__ = ["V16Handler", "id_tag_info"]

MAX_ID_TAG = 20
"""IdToken is CiString20Type in 1.6 (§7.28)."""


def id_tag_info(result: AuthorizationResult) -> v16.IdTagInfo:
    """``IdTagInfo`` (1.6 §7.29) from an authorization; 2.x-only Unknown is answered Invalid."""
    status = AuthStatus.INVALID if result.status is AuthStatus.UNKNOWN else result.status
    parent = result.group_id if result.group_id and len(result.group_id) <= MAX_ID_TAG else None
    return v16.IdTagInfo(
        status=v16.IdTagInfoStatus(status.value),
        expiry_date=format_time(result.expiry) if result.expiry is not None else None,
        parent_id_tag=parent,
    )


def _status(response: Any) -> c.StatusAnswer:
    return c.StatusAnswer(status=response.status.value)


class V16Handler(StationHandler):
    """A connected OCPP 1.6 charge point."""

    # --- core profile ---------------------------------------------------------------------------

    @on(v16.BootNotificationRequest)
    async def boot_notification(
        self, request: v16.BootNotificationRequest
    ) -> v16.BootNotificationResponse:
        """BootNotification (1.6 §4.2): records the station and its boot details.

        Answers the station's configured registration status and heartbeat interval (s).
        """
        details = {
            "chargeBoxSerialNumber": request.charge_box_serial_number,
            "iccid": request.iccid,
            "imsi": request.imsi,
            "meterType": request.meter_type,
            "meterSerialNumber": request.meter_serial_number,
        }
        info = BootInfo(
            vendor=request.charge_point_vendor,
            model=request.charge_point_model,
            serial_number=request.charge_point_serial_number or request.charge_box_serial_number,
            firmware_version=request.firmware_version,
            details={k: v for k, v in details.items() if v is not None},
        )
        result = await self.services.stations.boot(self.identity, info)
        return v16.BootNotificationResponse(
            status=v16.BootNotificationStatus(result.status.value),
            current_time=format_time(result.current_time),
            interval=result.interval,
        )

    @on(v16.HeartbeatRequest)
    async def heartbeat(self, request: v16.HeartbeatRequest) -> v16.HeartbeatResponse:
        """Heartbeat (1.6 §4.6): records the station as seen; answers the CSMS time."""
        now = await self.services.stations.heartbeat(self.identity)
        return v16.HeartbeatResponse(current_time=format_time(now))

    @on(v16.StatusNotificationRequest)
    async def status_notification(
        self, request: v16.StatusNotificationRequest
    ) -> v16.StatusNotificationResponse:
        """StatusNotification (1.6 §4.9): stores the connector's latest status.

        1.6 has no EVSE level: each connector is its own EVSE; connector 0 is the station. A
        connectorId beyond :data:`~kilowatt.csms.model.MAX_EVSE_ID` is answered
        PropertyConstraintViolation (:func:`~kilowatt.handlers.base.check_place`).
        """
        check_place(request.connector_id, request.connector_id)
        # 1.6 has no EVSE level: each connector is its own EVSE (kilowatt.csms.model).
        report = StatusReport(
            evse_id=request.connector_id,
            connector_id=request.connector_id,
            status=request.status.value,
            error_code=request.error_code.value,
            info=request.info,
            vendor_error_code=request.vendor_error_code,
            timestamp=parse_time(request.timestamp) if request.timestamp else None,
        )
        await self.services.stations.status_notification(self.identity, report)
        return v16.StatusNotificationResponse()

    @on(v16.AuthorizeRequest)
    async def authorize(self, request: v16.AuthorizeRequest) -> v16.AuthorizeResponse:
        """Authorize (1.6 §4.1): answers the idTag's idTagInfo (2.x-only Unknown as Invalid)."""
        result = await self.services.authorization.authorize(
            request.id_tag, station_id=self.identity
        )
        return v16.AuthorizeResponse(id_tag_info=id_tag_info(result))

    @on(v16.StartTransactionRequest)
    async def start_transaction(
        self, request: v16.StartTransactionRequest
    ) -> v16.StartTransactionResponse:
        """StartTransaction (1.6 §4.8): begins a transaction with meterStart (Wh).

        Answers the transactionId the CSMS assigns and the idTagInfo once the group commit holding
        it is durable; replays are idempotent (see :mod:`kilowatt.csms.transactions`). A new
        transaction on a connector that still has an active one ends that one ("Superseded",
        see :meth:`~kilowatt.csms.transactions.TransactionService.begin`).
        """
        check_place(request.connector_id, request.connector_id)
        # 1.6: the CSMS assigns the transactionId; each connector is its own EVSE.
        result = await self.services.transactions.begin(
            TransactionMessage(
                station_id=self.identity,
                timestamp=parse_time(request.timestamp),
                evse_id=request.connector_id,
                connector_id=request.connector_id,
                id_token=request.id_tag,
                meter_start_wh=Decimal(request.meter_start),
                reservation_id=request.reservation_id,
            )
        )
        assert result.transaction is not None and result.authorization is not None
        return v16.StartTransactionResponse(
            id_tag_info=id_tag_info(result.authorization), transaction_id=result.transaction.id
        )

    @on(v16.MeterValuesRequest)
    async def meter_values(self, request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        """MeterValues (1.6 §4.7): stores the sampled values (energy in Wh) of the connector.

        Answers once the group commit holding them is durable. A ``value`` that is not a
        decimal within :func:`kilowatt.ocpp.codec.number_in_range` is not stored (see
        :func:`~kilowatt.handlers.convert.samples_16`).
        """
        check_place(request.connector_id, request.connector_id)
        samples = samples_16(request.meter_value)
        await self.services.transactions.update(
            TransactionMessage(
                station_id=self.identity,
                # The schema requires a sample; the time only matters to a begin.
                timestamp=samples[0].timestamp
                if samples
                else parse_time(request.meter_value[0].timestamp),
                transaction_id=request.transaction_id,
                evse_id=request.connector_id,
                connector_id=request.connector_id,
                samples=samples,
            )
        )
        return v16.MeterValuesResponse()

    @on(v16.StopTransactionRequest)
    async def stop_transaction(
        self, request: v16.StopTransactionRequest
    ) -> v16.StopTransactionResponse:
        """StopTransaction (1.6 §4.10): ends the transaction with meterStop (Wh), transactionData.

        Answers once the group commit is durable, with the idTagInfo of the idTag given, if any.
        """
        result = await self.services.transactions.end(
            TransactionMessage(
                station_id=self.identity,
                timestamp=parse_time(request.timestamp),
                transaction_id=request.transaction_id,
                meter_stop_wh=Decimal(request.meter_stop),
                stopped_reason=request.reason.value if request.reason is not None else None,
                id_token=request.id_tag,
                samples=samples_16(request.transaction_data),
            )
        )
        info = id_tag_info(result.authorization) if result.authorization is not None else None
        return v16.StopTransactionResponse(id_tag_info=info)

    @on(v16.DataTransferRequest)
    async def data_transfer(self, request: v16.DataTransferRequest) -> v16.DataTransferResponse:
        """DataTransfer (1.6 §4.3) from the station: stored; answered UnknownVendorId."""
        # No vendor extension is installed, so every vendorId is unknown (1.6 §4.3); the
        # message is kept so an operator can see what the station wanted.
        await self.record("DataTransfer", request)
        return v16.DataTransferResponse(status=v16.DataTransferStatus.UNKNOWN_VENDOR_ID)

    # --- notifications --------------------------------------------------------------------------

    @on(v16.DiagnosticsStatusNotificationRequest)
    async def diagnostics_status(
        self, request: v16.DiagnosticsStatusNotificationRequest
    ) -> v16.DiagnosticsStatusNotificationResponse:
        """DiagnosticsStatusNotification (1.6 §4.4): stored as a station event."""
        await self.record("DiagnosticsStatusNotification", request)
        return v16.DiagnosticsStatusNotificationResponse()

    @on(v16.FirmwareStatusNotificationRequest)
    async def firmware_status(
        self, request: v16.FirmwareStatusNotificationRequest
    ) -> v16.FirmwareStatusNotificationResponse:
        """FirmwareStatusNotification (1.6 §4.5): stored as a station event."""
        await self.record("FirmwareStatusNotification", request)
        return v16.FirmwareStatusNotificationResponse()

    @on(v16.LogStatusNotificationRequest)
    async def log_status(
        self, request: v16.LogStatusNotificationRequest
    ) -> v16.LogStatusNotificationResponse:
        """LogStatusNotification (Security Whitepaper): stored as a station event."""
        await self.record("LogStatusNotification", request)
        return v16.LogStatusNotificationResponse()

    @on(v16.SignedFirmwareStatusNotificationRequest)
    async def signed_firmware_status(
        self, request: v16.SignedFirmwareStatusNotificationRequest
    ) -> v16.SignedFirmwareStatusNotificationResponse:
        """SignedFirmwareStatusNotification (Security Whitepaper): stored as an event."""
        await self.record("SignedFirmwareStatusNotification", request)
        return v16.SignedFirmwareStatusNotificationResponse()

    @on(v16.SecurityEventNotificationRequest)
    async def security_event(
        self, request: v16.SecurityEventNotificationRequest
    ) -> v16.SecurityEventNotificationResponse:
        """SecurityEventNotification (Security Whitepaper): stored as a station event."""
        await self.record("SecurityEventNotification", request)
        return v16.SecurityEventNotificationResponse()

    @on(v16.SignCertificateRequest)
    async def sign_certificate(
        self, request: v16.SignCertificateRequest
    ) -> v16.SignCertificateResponse:
        """SignCertificate (Security Whitepaper): stores the CSR; answers Rejected (no CA)."""
        # Accepted would promise a CertificateSigned call that Kilowatt cannot make (it holds
        # no CA); the CSR is kept for an operator to sign out of band.
        await self.record("SignCertificate", request)
        return v16.SignCertificateResponse(status=v16.GenericStatus.REJECTED)

    # --- answers to our own calls ---------------------------------------------------------------

    async def observe_result(self, action: str, request: Any, response: Any) -> None:
        """Store configuration keys learnt from GetConfiguration / ChangeConfiguration."""
        if action == "GetConfiguration":
            entries = [
                ConfigurationEntry(k.key, k.value, k.readonly)
                for k in response.configuration_key or ()
            ]
            if entries:
                await self.services.stations.store_configuration(self.identity, entries)
        elif action == "ChangeConfiguration" and response.status.value in (
            "Accepted",
            "RebootRequired",
        ):
            entry = ConfigurationEntry(request.key, request.value, False)
            await self.services.stations.store_configuration(self.identity, [entry])

    async def _call(self, request: Any, timeout: float) -> Any:
        response = await self.connection.call(request, timeout=timeout)
        action = type(request).__name__.removesuffix("Request")
        await self.observe_result(action, request, response)
        return response

    # --- version-neutral commands (kilowatt.csms.commands) --------------------------------------

    @handles(c.StartTransaction)
    async def start_transaction_command(
        self, command: c.StartTransaction, timeout: float
    ) -> c.StartTransactionAnswer:
        """RemoteStartTransaction (1.6 §5.11); idTag at most 20 characters."""
        if len(command.id_token) > MAX_ID_TAG:
            raise InvalidCommand(f"an OCPP 1.6 idTag has at most {MAX_ID_TAG} characters")
        connector = command.connector_id if command.connector_id is not None else command.evse_id
        request = v16.RemoteStartTransactionRequest(id_tag=command.id_token, connector_id=connector)
        response = await self._call(request, timeout)
        return c.StartTransactionAnswer(status=response.status.value)

    @handles(c.StopTransaction)
    async def stop_transaction_command(
        self, command: c.StopTransaction, timeout: float
    ) -> c.StatusAnswer:
        """RemoteStopTransaction (1.6 §5.12) with the CSMS transaction id."""
        transaction_id = command.transaction_id
        try:
            tx = await self.services.transactions.get(transaction_id)
        except NotFound:
            raise InvalidCommand(f"transaction {transaction_id} not found") from None
        if tx.station_id != self.identity:
            raise InvalidCommand(f"transaction {transaction_id} is not on {self.identity}")
        request = v16.RemoteStopTransactionRequest(transaction_id=tx.id)
        return _status(await self._call(request, timeout))

    @handles(c.Reset)
    async def reset_command(self, command: c.Reset, timeout: float) -> c.StatusAnswer:
        """Reset Hard/Soft (1.6 §5.14)."""
        hard = command.type.lower() == "hard"
        reset_type = v16.ResetType.HARD if hard else v16.ResetType.SOFT
        return _status(await self._call(v16.ResetRequest(type=reset_type), timeout))

    @handles(c.UnlockConnector)
    async def unlock_connector_command(
        self, command: c.UnlockConnector, timeout: float
    ) -> c.StatusAnswer:
        """UnlockConnector (1.6 §5.18); the connector is ``connector_id`` or ``evse_id``."""
        connector = command.connector_id if command.connector_id is not None else command.evse_id
        if connector is None:
            raise InvalidCommand("parameter 'connector_id' (or 'evse_id') is required")
        request = v16.UnlockConnectorRequest(connector_id=connector)
        return _status(await self._call(request, timeout))

    @handles(c.ChangeAvailability)
    async def change_availability_command(
        self, command: c.ChangeAvailability, timeout: float
    ) -> c.StatusAnswer:
        """ChangeAvailability (1.6 §5.2); connector 0 (default) is the whole charge point."""
        connector = command.connector_id if command.connector_id is not None else command.evse_id
        kind = (
            v16.ChangeAvailabilityType.OPERATIVE
            if command.operative
            else v16.ChangeAvailabilityType.INOPERATIVE
        )
        request = v16.ChangeAvailabilityRequest(connector_id=connector or 0, type=kind)
        return _status(await self._call(request, timeout))

    @handles(c.TriggerMessage)
    async def trigger_message_command(
        self, command: c.TriggerMessage, timeout: float
    ) -> c.StatusAnswer:
        """TriggerMessage (1.6 §5.17)."""
        try:
            requested = v16.RequestedMessage(command.message)
        except ValueError:
            choices = ", ".join(m.value for m in v16.RequestedMessage)
            raise InvalidCommand(f"message must be one of {choices}") from None
        connector = command.connector_id if command.connector_id is not None else command.evse_id
        request = v16.TriggerMessageRequest(requested_message=requested, connector_id=connector)
        return _status(await self._call(request, timeout))

    @handles(c.GetConfiguration)
    async def get_configuration_command(
        self, command: c.GetConfiguration, timeout: float
    ) -> c.ConfigurationAnswer:
        """GetConfiguration (1.6 §5.8)."""
        keys = command.requested()
        response = await self._call(v16.GetConfigurationRequest(key=keys or None), timeout)
        return c.ConfigurationAnswer(
            configuration=[
                c.ConfigurationItem(key=k.key, value=k.value, readonly=k.readonly)
                for k in response.configuration_key or ()
            ],
            unknown=list(response.unknown_key or ()),
        )

    @handles(c.SetConfiguration)
    async def set_configuration_command(
        self, command: c.SetConfiguration, timeout: float
    ) -> c.SetConfigurationAnswer:
        """ChangeConfiguration (1.6 §5.3)."""
        request = v16.ChangeConfigurationRequest(
            key=command.key, value=configuration_text(command.value)
        )
        response = await self._call(request, timeout)
        return c.SetConfigurationAnswer(status=response.status.value)

    @handles(c.ClearCache)
    async def clear_cache_command(self, command: c.ClearCache, timeout: float) -> c.StatusAnswer:
        """ClearCache (1.6 §5.4)."""
        return _status(await self._call(v16.ClearCacheRequest(), timeout))

    @handles(c.DataTransfer)
    async def data_transfer_command(
        self, command: c.DataTransfer, timeout: float
    ) -> c.DataTransferAnswer:
        """DataTransfer (1.6 §5.6); 1.6 ``data`` is a string, other JSON is sent as its text."""
        data = command.data
        if data is not None and not isinstance(data, str):
            data = json.dumps(data, separators=(",", ":"))
        request = v16.DataTransferRequest(
            vendor_id=command.vendor_id, message_id=command.message_id, data=data
        )
        response = await self._call(request, timeout)
        return c.DataTransferAnswer(status=response.status.value, data=response.data)
