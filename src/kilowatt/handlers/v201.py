"""OCPP 2.0.1: station CALLs ↔ CSMS services (also the base of the 2.1 handler).

Every action a 2.0.1 charging station initiates (OCPP 2.0.1 Part 2, use cases in brackets):

=====================================  =====================================================
BootNotification [B01-B03]             station record; configured status and interval
Heartbeat [G02]                        last seen; CSMS time
StatusNotification [G01]               latest status per (EVSE, connector)
Authorize [C01]                        id token → idTokenInfo
TransactionEvent [E01-E15]             transaction by station id and seqNo (durable ack)
MeterValues [J01]                      sampled values (outside transactions)
NotifyReport [B07]                     device-model variables stored per station
NotifyEvent [N07]                      stored; Actual values of the device model updated
DataTransfer [P01]                     stored; UnknownVendorId
FirmwareStatusNotification [L01],      stored as station events
PublishFirmwareStatusNotification,
LogStatusNotification [N01],
SecurityEventNotification [A04],
ReservationStatusUpdate [H05],
NotifyChargingLimit [K12],
ClearedChargingLimit [K13],
ReportChargingProfiles [K09],
NotifyMonitoringReport [N02],
NotifyCustomerInformation [N09],
NotifyDisplayMessages [O03]
NotifyEVChargingNeeds [K15]            stored; Rejected: Kilowatt computes no schedules yet
NotifyEVChargingSchedule [K15]         stored; Accepted (no CSMS limit to violate)
SignCertificate [A02]                  stored; Rejected: Kilowatt holds no CA
Get15118EVCertificate [M01],           CALLERROR NotSupported: no ISO 15118 PKI / OCSP access
GetCertificateStatus [M06]
=====================================  =====================================================

The handler class is written against the 2.0.1 types; :mod:`kilowatt.handlers.v21` reuses it
with the 2.1 message module (:attr:`V201Handler.m`), whose messages share these field names.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from types import ModuleType
from typing import Any, ClassVar

import msgspec

from kilowatt.csms import commands as c
from kilowatt.csms.errors import NotFound
from kilowatt.csms.gateway import InvalidCommand
from kilowatt.csms.model import (
    AuthorizationResult,
    BootInfo,
    StatusReport,
    TransactionMessage,
    VariableReport,
)
from kilowatt.handlers.base import StationHandler, check_place, handles
from kilowatt.handlers.convert import configuration_text, format_time, parse_time, samples_2x
from kilowatt.handlers.variables import VariableKey, parse_key
from kilowatt.ocpp import v201
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.transport import on

__all__ = ["V201Handler", "enum_value"]

_SET_STATUS = {
    "Accepted": "Accepted",
    "RebootRequired": "RebootRequired",
    "Rejected": "Rejected",
    "UnknownComponent": "NotSupported",
    "UnknownVariable": "NotSupported",
    "NotSupportedAttributeType": "NotSupported",
}
"""2.x SetVariableStatus → the answer of the version-neutral set-configuration command."""


def enum_value(item: Any) -> str | None:
    """The wire value of an enum member (2.1 turned some enums into plain strings)."""
    if item is None:
        return None
    return str(getattr(item, "value", item))


def _status_info(response: Any) -> c.StatusInfo | None:
    info = getattr(response, "status_info", None)
    if info is None:
        return None
    return c.StatusInfo(reason_code=info.reason_code, additional_info=info.additional_info or None)


def _status(response: Any) -> c.StatusAnswer:
    return c.StatusAnswer(
        status=enum_value(response.status) or "", status_info=_status_info(response)
    )


class V201Handler(StationHandler):
    """A connected OCPP 2.0.1 charging station."""

    m: ClassVar[ModuleType] = v201
    """The generated message module of the version (responses are built from it)."""

    # --- provisioning, availability ------------------------------------------------------------

    @on("BootNotification")
    async def boot_notification(self, request: v201.BootNotificationRequest) -> Any:
        """BootNotification (2.0.1 B01-B03): records the station, its boot reason and modem.

        Answers the station's configured registration status and heartbeat interval (s).
        """
        station = request.charging_station
        details: dict[str, Any] = {}
        if station.modem is not None:
            details["modem"] = {
                k: v
                for k, v in (("iccid", station.modem.iccid), ("imsi", station.modem.imsi))
                if v is not None
            }
        info = BootInfo(
            vendor=station.vendor_name,
            model=station.model,
            serial_number=station.serial_number,
            firmware_version=station.firmware_version,
            reason=enum_value(request.reason),
            details=details,
        )
        result = await self.services.stations.boot(self.identity, info)
        return self.m.BootNotificationResponse(
            status=self.m.RegistrationStatus(result.status.value),
            current_time=format_time(result.current_time),
            interval=result.interval,
        )

    @on("Heartbeat")
    async def heartbeat(self, request: v201.HeartbeatRequest) -> Any:
        """Heartbeat (2.0.1 G02): records the station as seen and answers the current time."""
        now = await self.services.stations.heartbeat(self.identity)
        return self.m.HeartbeatResponse(current_time=format_time(now))

    @on("StatusNotification")
    async def status_notification(self, request: v201.StatusNotificationRequest) -> Any:
        """StatusNotification (2.0.1 G01): stores the latest status of (EVSE, connector).

        Ids beyond :data:`~kilowatt.csms.model.MAX_EVSE_ID` are answered
        PropertyConstraintViolation (:func:`~kilowatt.handlers.base.check_place`).
        """
        check_place(request.evse_id, request.connector_id)
        report = StatusReport(
            evse_id=request.evse_id,
            connector_id=request.connector_id,
            status=enum_value(request.connector_status) or "",
            timestamp=parse_time(request.timestamp),
        )
        await self.services.stations.status_notification(self.identity, report)
        return self.m.StatusNotificationResponse()

    @on("NotifyReport")
    async def notify_report(self, request: v201.NotifyReportRequest) -> Any:
        """NotifyReport (2.0.1 B07): stores the reported device-model variables.

        The report's bookkeeping (requestId, seqNo, tbc, count) is kept as a station event.
        """
        reports = [
            VariableReport(
                component=data.component.name,
                variable=data.variable.name,
                attribute_type=enum_value(attribute.type) or "Actual",
                value=attribute.value,
                component_instance=data.component.instance,
                variable_instance=data.variable.instance,
                evse_id=data.component.evse.id if data.component.evse else None,
                connector_id=data.component.evse.connector_id if data.component.evse else None,
                mutability=enum_value(attribute.mutability),
                data_type=(
                    enum_value(data.variable_characteristics.data_type)
                    if data.variable_characteristics
                    else None
                ),
                unit=data.variable_characteristics.unit if data.variable_characteristics else None,
            )
            for data in request.report_data or ()
            for attribute in data.variable_attribute
        ]
        if reports:
            await self.services.stations.store_variables(self.identity, reports)
        # The variables themselves live in the device model; the event keeps the report's
        # bookkeeping (which request, which part) for an operator following a GetBaseReport.
        summary = {
            "requestId": request.request_id,
            "seqNo": request.seq_no,
            "generatedAt": request.generated_at,
            "tbc": bool(request.tbc),
            "variables": len(reports),
        }
        await self.services.stations.record_event(self.identity, "NotifyReport", summary)
        return self.m.NotifyReportResponse()

    # --- authorization, transactions ------------------------------------------------------------

    def id_token_info(self, result: AuthorizationResult) -> Any:
        """``IdTokenInfoType`` (2.0.1 §2) from an authorization."""
        group = None
        if result.group_id:
            group = self.m.IdToken(id_token=result.group_id, type="Central")
        return self.m.IdTokenInfo(
            status=self.m.AuthorizationStatus(result.status.value),
            cache_expiry_date_time=(
                format_time(result.expiry) if result.expiry is not None else None
            ),
            group_id_token=group,
        )

    @on("Authorize")
    async def authorize(self, request: v201.AuthorizeRequest) -> Any:
        """Authorize (2.0.1 C01): answers the token's idTokenInfo (no certificateStatus)."""
        token = request.id_token
        result = await self.services.authorization.authorize(
            token.id_token, token_type=enum_value(token.type), station_id=self.identity
        )
        # certificateStatus is left out: Kilowatt has no OCSP access to check a contract
        # certificate (C07), and a made-up Accepted would be a false statement.
        return self.m.AuthorizeResponse(id_token_info=self.id_token_info(result))

    @on("TransactionEvent")
    async def transaction_event(self, request: v201.TransactionEventRequest) -> Any:
        """TransactionEvent (2.0.1 E01-E15): Started/Updated/Ended → begin/update/end.

        The transaction is named by the station's transactionId and seqNo. Answers once the group
        commit holding it is durable, with idTokenInfo when the service authorized a token.
        A Started on an EVSE with another active transaction ends that one ("Superseded", see
        :meth:`~kilowatt.csms.transactions.TransactionService.begin`); EVSE/connector ids
        beyond :data:`~kilowatt.csms.model.MAX_EVSE_ID` are answered
        PropertyConstraintViolation.
        """
        info = request.transaction_info
        token = request.id_token
        evse = request.evse
        if evse is not None:
            check_place(evse.id, evse.connector_id)
        # Started/Updated/Ended → begin/update/end; the station names the transaction by its
        # own transactionId, and seqNo numbers its messages (E01-E15).
        kind = enum_value(request.event_type)
        transactions = self.services.transactions
        if kind == "Started":
            step = transactions.begin
        elif kind == "Ended":
            step = transactions.end
        else:
            step = transactions.update
        result = await step(
            TransactionMessage(
                station_id=self.identity,
                station_tx_id=info.transaction_id,
                seq_no=request.seq_no,
                timestamp=parse_time(request.timestamp),
                trigger_reason=enum_value(request.trigger_reason),
                evse_id=evse.id if evse is not None else None,
                connector_id=evse.connector_id if evse is not None else None,
                id_token=token.id_token if token is not None else None,
                id_token_type=enum_value(token.type) if token is not None else None,
                charging_state=enum_value(info.charging_state),
                stopped_reason=enum_value(info.stopped_reason),
                remote_start_id=info.remote_start_id,
                reservation_id=request.reservation_id,
                samples=samples_2x(request.meter_value),
                offline=bool(request.offline),
            )
        )
        token_info = None
        if result.authorization is not None:
            token_info = self.id_token_info(result.authorization)
        return self.m.TransactionEventResponse(id_token_info=token_info)

    @on("MeterValues")
    async def meter_values(self, request: v201.MeterValuesRequest) -> Any:
        """MeterValues (2.0.1 J01): stores samples taken outside transactions, per EVSE.

        Connector 0 (2.x MeterValues names none). Values are scaled by 10^multiplier into their
        unit, Wh by default (:func:`~kilowatt.handlers.convert.samples_2x`).
        """
        # 2.x MeterValues carries no transaction (those samples come in TransactionEvent) and
        # no connector: the samples are stored for the EVSE (connector 0).
        check_place(request.evse_id, 0)
        samples = samples_2x(request.meter_value)
        await self.services.transactions.update(
            TransactionMessage(
                station_id=self.identity,
                # The schema requires a sample; the time only matters to a begin.
                timestamp=samples[0].timestamp
                if samples
                else parse_time(request.meter_value[0].timestamp),
                evse_id=request.evse_id,
                connector_id=0,
                samples=samples,
            )
        )
        return self.m.MeterValuesResponse()

    # --- notifications stored as station events -------------------------------------------------

    async def _notify(self, request: Any) -> Any:
        action = type(request).__name__.removesuffix("Request")
        await self.record(action, request)
        return getattr(self.m, action + "Response")()

    @on("FirmwareStatusNotification")
    async def firmware_status(self, request: Any) -> Any:
        """FirmwareStatusNotification (2.0.1 L01): stored as a station event."""
        return await self._notify(request)

    @on("PublishFirmwareStatusNotification")
    async def publish_firmware_status(self, request: Any) -> Any:
        """PublishFirmwareStatusNotification (2.0.1 L03): stored as a station event."""
        return await self._notify(request)

    @on("LogStatusNotification")
    async def log_status(self, request: Any) -> Any:
        """LogStatusNotification (2.0.1 N01): stored as a station event."""
        return await self._notify(request)

    @on("SecurityEventNotification")
    async def security_event(self, request: Any) -> Any:
        """SecurityEventNotification (2.0.1 A04): stored as a station event."""
        return await self._notify(request)

    @on("ReservationStatusUpdate")
    async def reservation_status(self, request: Any) -> Any:
        """ReservationStatusUpdate (2.0.1 H05): stored as a station event."""
        return await self._notify(request)

    @on("NotifyChargingLimit")
    async def notify_charging_limit(self, request: Any) -> Any:
        """NotifyChargingLimit (2.0.1 K12): stored as a station event."""
        return await self._notify(request)

    @on("ClearedChargingLimit")
    async def cleared_charging_limit(self, request: Any) -> Any:
        """ClearedChargingLimit (2.0.1 K13): stored as a station event."""
        return await self._notify(request)

    @on("ReportChargingProfiles")
    async def report_charging_profiles(self, request: Any) -> Any:
        """ReportChargingProfiles (2.0.1 K09): stored as a station event."""
        return await self._notify(request)

    @on("NotifyMonitoringReport")
    async def notify_monitoring_report(self, request: Any) -> Any:
        """NotifyMonitoringReport (2.0.1 N02): stored as a station event."""
        return await self._notify(request)

    @on("NotifyCustomerInformation")
    async def notify_customer_information(self, request: Any) -> Any:
        """NotifyCustomerInformation (2.0.1 N09): stored as a station event."""
        return await self._notify(request)

    @on("NotifyDisplayMessages")
    async def notify_display_messages(self, request: Any) -> Any:
        """NotifyDisplayMessages (2.0.1 O03): stored as a station event."""
        return await self._notify(request)

    @on("NotifyEvent")
    async def notify_event(self, request: v201.NotifyEventRequest) -> Any:
        """NotifyEvent (2.0.1 N07): updates the Actual values it reports; stored as an event."""
        # An event reports a variable's new actual value (N07): keep the device model current.
        reports = [
            VariableReport(
                component=event.component.name,
                variable=event.variable.name,
                value=event.actual_value,
                component_instance=event.component.instance,
                variable_instance=event.variable.instance,
                evse_id=event.component.evse.id if event.component.evse else None,
                connector_id=event.component.evse.connector_id if event.component.evse else None,
            )
            for event in request.event_data
        ]
        await self.store_values(reports)
        return await self._notify(request)

    @on("NotifyEVChargingNeeds")
    async def notify_ev_charging_needs(self, request: Any) -> Any:
        """NotifyEVChargingNeeds (2.0.1 K15): stored; answered :attr:`charging_needs_answer`."""
        # Accepted would promise a SetChargingProfile (K15.FR.xx); Kilowatt has no smart
        # charging scheduler yet, so the honest answer is that it will not provide one.
        await self.record("NotifyEVChargingNeeds", request)
        return self.m.NotifyEVChargingNeedsResponse(
            status=self.m.NotifyEVChargingNeedsStatus(self.charging_needs_answer)
        )

    charging_needs_answer: ClassVar[str] = "Rejected"
    """The NotifyEVChargingNeeds status: Rejected in 2.0.1 (no smart-charging scheduler yet)."""

    @on("NotifyEVChargingSchedule")
    async def notify_ev_charging_schedule(self, request: Any) -> Any:
        """NotifyEVChargingSchedule (2.0.1 K15): stored; Accepted (no CSMS limit set)."""
        # The CSMS checks the EV's schedule against the limits it set; Kilowatt sets none.
        await self.record("NotifyEVChargingSchedule", request)
        return self.m.NotifyEVChargingScheduleResponse(status=self.m.GenericStatus("Accepted"))

    @on("DataTransfer")
    async def data_transfer(self, request: Any) -> Any:
        """DataTransfer (2.0.1 P01) from the station: stored; answered UnknownVendorId."""
        await self.record("DataTransfer", request)
        return self.m.DataTransferResponse(status=self.m.DataTransferStatus("UnknownVendorId"))

    # --- security / certificates ----------------------------------------------------------------

    @on("SignCertificate")
    async def sign_certificate(self, request: Any) -> Any:
        """SignCertificate (2.0.1 A02): stores the CSR; answers Rejected, reasonCode NoCA."""
        # Accepted would promise a CertificateSigned call (A02.FR.xx) that needs a CA Kilowatt
        # does not have; the CSR is kept so an operator can sign it out of band.
        await self.record("SignCertificate", request)
        return self.m.SignCertificateResponse(
            status=self.m.GenericStatus("Rejected"),
            status_info=self.m.StatusInfo(reason_code="NoCA"),
        )

    @on("Get15118EVCertificate")
    async def get_15118_ev_certificate(self, request: Any) -> Any:
        """Get15118EVCertificate (2.0.1 M01).

        Raises:
            CallError: always NotSupported (no ISO 15118 certificate service configured).
        """
        raise CallError(ErrorCode.NOT_SUPPORTED, "no ISO 15118 certificate service configured")

    @on("GetCertificateStatus")
    async def get_certificate_status(self, request: Any) -> Any:
        """GetCertificateStatus (2.0.1 M06).

        Raises:
            CallError: always NotSupported (no OCSP responder configured).
        """
        raise CallError(ErrorCode.NOT_SUPPORTED, "no OCSP responder configured")

    # --- answers to our own calls ---------------------------------------------------------------

    async def observe_result(self, action: str, request: Any, response: Any) -> None:
        """Store device-model values learnt from GetVariables / accepted by SetVariables."""
        reports: list[VariableReport] = []
        if action == "GetVariables":
            for r in response.get_variable_result:
                if enum_value(r.attribute_status) == "Accepted":
                    reports.append(_report(r, r.attribute_value))
        elif action == "SetVariables":
            values = {
                (_ident(d), enum_value(d.attribute_type) or "Actual"): d.attribute_value
                for d in request.set_variable_data
            }
            for r in response.set_variable_result:
                if enum_value(r.attribute_status) in ("Accepted", "RebootRequired"):
                    value = values.get((_ident(r), enum_value(r.attribute_type) or "Actual"))
                    reports.append(_report(r, value))
        if reports:
            await self.store_values(reports)

    async def store_values(self, reports: list[VariableReport]) -> None:
        """Store new device-model values (an empty list stores nothing).

        What NotifyReport said about each variable (mutability, data type, unit) is kept by the
        storage upsert when a report leaves it out.
        """
        if reports:
            await self.services.stations.store_variables(self.identity, reports)

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
        """RequestStartTransaction (2.0.1 F01), with a random ``remote_start_id`` if none given.

        The ``remote_start_id`` in the answer is what the station puts in the TransactionEvent,
        linking the transaction to this command.
        """
        remote_start_id = command.remote_start_id
        if remote_start_id is None:
            # Random rather than a counter: unique across restarts and nodes without state.
            remote_start_id = secrets.randbelow(2**31 - 1) + 1
        request = self.m.RequestStartTransactionRequest(
            id_token=self.m.IdToken(id_token=command.id_token, type=command.id_token_type),
            remote_start_id=remote_start_id,
            evse_id=command.evse_id,
        )
        response = await self._call(request, timeout)
        return c.StartTransactionAnswer(
            status=enum_value(response.status) or "",
            status_info=_status_info(response),
            remote_start_id=remote_start_id,
            station_transaction_id=response.transaction_id,
        )

    @handles(c.StopTransaction)
    async def stop_transaction_command(
        self, command: c.StopTransaction, timeout: float
    ) -> c.StatusAnswer:
        """RequestStopTransaction (F03) with the station's own transaction id."""
        transaction_id = command.transaction_id
        try:
            tx = await self.services.transactions.get(transaction_id)
        except NotFound:
            raise InvalidCommand(f"transaction {transaction_id} not found") from None
        if tx.station_id != self.identity or tx.station_tx_id is None:
            raise InvalidCommand(f"transaction {transaction_id} is not on {self.identity}")
        request = self.m.RequestStopTransactionRequest(transaction_id=tx.station_tx_id)
        return _status(await self._call(request, timeout))

    @handles(c.Reset)
    async def reset_command(self, command: c.Reset, timeout: float) -> c.StatusAnswer:
        """Reset (B11/B12): hard → Immediate, soft → OnIdle (waits for transactions to end)."""
        request = self.m.ResetRequest(
            type=self.m.Reset("Immediate" if command.type.lower() == "hard" else "OnIdle"),
            evse_id=command.evse_id,
        )
        return _status(await self._call(request, timeout))

    @handles(c.UnlockConnector)
    async def unlock_connector_command(
        self, command: c.UnlockConnector, timeout: float
    ) -> c.StatusAnswer:
        """UnlockConnector (F05); ``evse_id`` is required, ``connector_id`` defaults to 1."""
        if command.evse_id is None:
            raise InvalidCommand("parameter 'evse_id' is required")
        request = self.m.UnlockConnectorRequest(
            evse_id=command.evse_id,
            connector_id=command.connector_id if command.connector_id is not None else 1,
        )
        return _status(await self._call(request, timeout))

    @handles(c.ChangeAvailability)
    async def change_availability_command(
        self, command: c.ChangeAvailability, timeout: float
    ) -> c.StatusAnswer:
        """ChangeAvailability (G03-G05); no ``evse_id`` (or 0): the whole station."""
        evse = None
        if command.evse_id is not None and command.evse_id > 0:
            evse = self.m.EVSE(id=command.evse_id, connector_id=command.connector_id)
        request = self.m.ChangeAvailabilityRequest(
            operational_status=self.m.OperationalStatus(
                "Operative" if command.operative else "Inoperative"
            ),
            evse=evse,
        )
        return _status(await self._call(request, timeout))

    @handles(c.TriggerMessage)
    async def trigger_message_command(
        self, command: c.TriggerMessage, timeout: float
    ) -> c.StatusAnswer:
        """TriggerMessage (F06)."""
        try:
            requested = self.m.MessageTrigger(command.message)
        except ValueError:
            choices = ", ".join(m.value for m in self.m.MessageTrigger)
            raise InvalidCommand(f"message must be one of {choices}") from None
        evse = None
        if command.evse_id is not None:
            evse = self.m.EVSE(id=command.evse_id, connector_id=command.connector_id)
        request = self.m.TriggerMessageRequest(requested_message=requested, evse=evse)
        return _status(await self._call(request, timeout))

    @handles(c.GetConfiguration)
    async def get_configuration_command(
        self, command: c.GetConfiguration, timeout: float
    ) -> c.ConfigurationAnswer:
        """GetVariables (2.0.1 B06) for the given keys; the stored device model for none.

        With no key the answer is the stored device model (from NotifyReport and earlier
        answers). Keys: :mod:`kilowatt.handlers.variables`.
        """
        keys = command.requested()
        stored = await self.services.stations.variables(self.identity)
        readonly = {
            (v.component, v.variable, v.attribute_type): v.mutability == "ReadOnly" for v in stored
        }
        if not keys:
            everything = [
                c.ConfigurationItem(
                    key=VariableKey(v.component, v.variable, v.attribute_type, "").canonical,
                    value=v.value,
                    readonly=v.mutability == "ReadOnly",
                )
                for v in stored
                if v.evse_id is None
                and v.component_instance is None
                and v.variable_instance is None
            ]
            return c.ConfigurationAnswer(configuration=everything, unknown=[])
        parsed: list[VariableKey] = []
        unknown: list[str] = []
        for key in keys:
            vk = parse_key(key)
            if vk is None:
                unknown.append(key)
            else:
                parsed.append(vk)
        configuration: list[c.ConfigurationItem] = []
        if parsed:
            request = self.m.GetVariablesRequest(
                get_variable_data=[
                    self.m.GetVariableData(
                        component=self.m.Component(name=k.component),
                        variable=self.m.Variable(name=k.variable),
                        attribute_type=self.m.Attribute(k.attribute),
                    )
                    for k in parsed
                ]
            )
            response = await self._call(request, timeout)
            by_ident = {
                (r.component.name, r.variable.name, enum_value(r.attribute_type) or "Actual"): r
                for r in response.get_variable_result
            }
            for k in parsed:
                r = by_ident.get((k.component, k.variable, k.attribute))
                if r is None or enum_value(r.attribute_status) != "Accepted":
                    unknown.append(k.key)
                    continue
                configuration.append(
                    c.ConfigurationItem(
                        key=k.key,
                        value=r.attribute_value,
                        readonly=readonly.get((k.component, k.variable, k.attribute), False),
                    )
                )
        return c.ConfigurationAnswer(configuration=configuration, unknown=unknown)

    @handles(c.SetConfiguration)
    async def set_configuration_command(
        self, command: c.SetConfiguration, timeout: float
    ) -> c.SetConfigurationAnswer:
        """SetVariables (B05) of one key; ``attribute_status`` is the station's answer."""
        vk = parse_key(command.key)
        if vk is None:
            return c.SetConfigurationAnswer(
                status="NotSupported", attribute_status="UnknownVariable"
            )
        request = self.m.SetVariablesRequest(
            set_variable_data=[
                self.m.SetVariableData(
                    attribute_value=configuration_text(command.value),
                    component=self.m.Component(name=vk.component),
                    variable=self.m.Variable(name=vk.variable),
                    attribute_type=self.m.Attribute(vk.attribute),
                )
            ]
        )
        response = await self._call(request, timeout)
        status = enum_value(response.set_variable_result[0].attribute_status) or "Rejected"
        return c.SetConfigurationAnswer(
            status=_SET_STATUS.get(status, "Rejected"), attribute_status=status
        )

    @handles(c.ClearCache)
    async def clear_cache_command(self, command: c.ClearCache, timeout: float) -> c.StatusAnswer:
        """ClearCache (C11)."""
        return _status(await self._call(self.m.ClearCacheRequest(), timeout))

    @handles(c.DataTransfer)
    async def data_transfer_command(
        self, command: c.DataTransfer, timeout: float
    ) -> c.DataTransferAnswer:
        """DataTransfer (P02); ``data`` is any JSON value."""
        kwargs: dict[str, Any] = {"vendor_id": command.vendor_id, "message_id": command.message_id}
        if command.data is not None:
            # Through JSON so that numbers become the exact Decimals the codec expects.
            kwargs["data"] = json.loads(json.dumps(command.data), parse_float=Decimal)
        response = await self._call(self.m.DataTransferRequest(**kwargs), timeout)
        data = getattr(response, "data", None)
        if data is msgspec.UNSET:
            data = None
        if data is not None:
            data = json.loads(json.dumps(data, default=_json_default))
        return c.DataTransferAnswer(
            status=enum_value(response.status) or "",
            status_info=_status_info(response),
            data=data,
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _ident(item: Any) -> tuple[str, str | None, str, str | None, int | None, int | None]:
    c, v = item.component, item.variable
    evse = c.evse
    return (
        c.name,
        c.instance,
        v.name,
        v.instance,
        evse.id if evse else None,
        evse.connector_id if evse else None,
    )


def _report(result: Any, value: str | None) -> VariableReport:
    c, v = result.component, result.variable
    return VariableReport(
        component=c.name,
        variable=v.name,
        attribute_type=enum_value(result.attribute_type) or "Actual",
        value=value,
        component_instance=c.instance,
        variable_instance=v.instance,
        evse_id=c.evse.id if c.evse else None,
        connector_id=c.evse.connector_id if c.evse else None,
    )
