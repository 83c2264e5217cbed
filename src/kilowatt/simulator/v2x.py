"""OCPP 2.0.1 and 2.1 charging station on top of :class:`~kilowatt.simulator.station.SimStation`.

2.1 keeps every 2.0.1 message the simulator uses (it only adds optional fields), so one class
serves both, parameterised by the version's generated message module.

Sources: OCPP 2.0.1 Part 2 — B01–B03 boot, B05–B07 variables and reports, B11/B12 reset,
C01 authorization, E01–E07 transactions (TransactionEvent, seqNo, offline flag), F01/F02
remote start/stop, F05 unlock, F06 trigger, G01 status, G03/G04 availability, H01–H04
reservations, K01/K08/K10 smart charging; Part 2 Appendix 3 for the device model.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from kilowatt.ocpp import v21, v201
from kilowatt.ocpp.routing import after, on
from kilowatt.ocpp.version import OcppVersion
from kilowatt.simulator.devicemodel import ComponentKey, DeviceModel, VariableKey
from kilowatt.simulator.profiles import (
    ChargingProfile,
    ChargingSchedule,
    ProfileKind,
    Purpose,
    RateUnit,
    Recurrency,
    SchedulePeriod,
)
from kilowatt.simulator.queue import QueuedMessage
from kilowatt.simulator.reservations import Reservation
from kilowatt.simulator.station import Evse, Session, SimClock, SimStation, StopReason
from kilowatt.simulator.status import ChargePointStatus, charging_state, to_2x
from kilowatt.transport.connection import CallContext, OcppConnection
from kilowatt.transport.peer import StationClient

__all__ = ["Station2x", "Station21", "Station201"]

# (stoppedReason, triggerReason of the Ended event) per stop reason (E06).
_REASONS: dict[StopReason, tuple[str, str]] = {
    StopReason.LOCAL: ("Local", "StopAuthorized"),
    StopReason.REMOTE: ("Remote", "RemoteStop"),
    StopReason.EV_DISCONNECTED: ("EVDisconnected", "EVCommunicationLost"),
    StopReason.HARD_RESET: ("ImmediateReset", "ResetCommand"),
    StopReason.SOFT_RESET: ("ImmediateReset", "ResetCommand"),
    StopReason.DEAUTHORIZED: ("DeAuthorized", "Deauthorized"),
    StopReason.UNLOCK: ("Other", "UnlockCommand"),
    StopReason.FAULT: ("Other", "AbnormalCondition"),
    StopReason.POWER_LOSS: ("PowerLoss", "AbnormalCondition"),
    # The run ended: the operator switches the station off, which no ReasonEnumType value
    # names ("Local" is the driver's stop), and it is no trigger the driver or the CSMS caused:
    # the station's own abnormal condition for the transaction.
    StopReason.SHUTDOWN: ("Other", "AbnormalCondition"),
}

# Measurand -> (unit of measure, MeterReading attribute).
_MEASURANDS: dict[str, tuple[str, str]] = {
    "Energy.Active.Import.Register": ("Wh", "energy_wh"),
    "Power.Active.Import": ("W", "power_w"),
    "Current.Import": ("A", "current_a"),
    "Voltage": ("V", "voltage_v"),
    "SoC": ("Percent", "soc_pct"),
}

_PURPOSES = {
    "ChargingStationMaxProfile": Purpose.STATION_MAX,
    "TxDefaultProfile": Purpose.TX_DEFAULT,
    "TxProfile": Purpose.TX,
}


class Station2x(SimStation):
    """A simulated OCPP 2.x charging station (one connector per EVSE, connector id 1)."""

    messages: Any = v201
    """The generated message module of the version (``kilowatt.ocpp.v201`` or ``v21``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = DeviceModel(
            len(self.evses),
            vendor=self.scenario.vendor,
            model=self.scenario.model,
            max_power_w=self.max_power_w,
            security_profile=1 if self.password else 0,
        )
        self.model.update(
            VariableKey(ComponentKey("OCPPCommCtrlr"), "HeartbeatInterval"),
            str(self.scenario.heartbeat_interval_s),
        )
        self.model.update(
            VariableKey(ComponentKey("SampledDataCtrlr"), "TxUpdatedInterval"),
            str(self.scenario.sample_interval_s),
        )
        settings = dict(self.scenario.configuration)
        if self.override is not None:
            settings.update(self.override.configuration)
        for name, value in settings.items():
            component, _, variable = name.partition(".")
            key = VariableKey(ComponentKey(component), variable)
            if self.model.set(key, value) not in ("Accepted", "RebootRequired"):
                raise ValueError(f"configuration {name} = {value!r} is not accepted")
        self.station_operative = True

    # -- hooks ------------------------------------------------------------------------------

    def make_peer(self, connection: OcppConnection) -> StationClient:
        return ChargingStation2x(connection, self)

    def boot_request(self) -> Any:
        m = self.messages
        return m.BootNotificationRequest(
            charging_station=m.ChargingStation(
                model=self.scenario.model,
                vendor_name=self.scenario.vendor,
                serial_number=self.identity[:25],
                firmware_version=self.scenario.firmware,
            ),
            reason=self.boot_reason,
        )

    def heartbeat_request(self) -> Any:
        return self.messages.HeartbeatRequest()

    def heartbeat_changed(self, interval: int) -> None:
        self.model.update(
            VariableKey(ComponentKey("OCPPCommCtrlr"), "HeartbeatInterval"), str(interval)
        )

    def sample_interval(self) -> float:
        return float(self.model.int("SampledDataCtrlr", "TxUpdatedInterval"))

    def authorize_remote(self) -> bool:
        return self.model.bool("AuthCtrlr", "AuthorizeRemoteStart")

    def message_attempts(self) -> tuple[int, float]:
        return (
            self.model.int("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"),
            float(self.model.int("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent")),
        )

    def visible_status(self, evse: Evse) -> str:
        return to_2x(evse.status.status).value

    def idle_status(self, evse: Evse) -> ChargePointStatus:
        if evse.fault is None and not self.station_operative:
            return ChargePointStatus.UNAVAILABLE
        return super().idle_status(evse)

    def set_status(self, evse: Evse, target: ChargePointStatus) -> None:
        super().set_status(evse, target)
        # Keep the device model's availability variables in step (read by GetVariables).
        state = self.visible_status(evse)
        for component, connector in (("EVSE", None), ("Connector", 1)):
            key = VariableKey(
                ComponentKey(component, None, evse.id, connector), "AvailabilityState"
            )
            self.model.update(key, state)
        power = VariableKey(ComponentKey("EVSE", None, evse.id), "Power")
        self.model.update(power, f"{evse.meter.power_w:.1f}")

    def status_requests(self, evse: Evse | None) -> list[Any]:
        if evse is None:
            return []
        return [
            self.messages.StatusNotificationRequest(
                timestamp=self.clock.iso(),
                connector_status=self.visible_status(evse),
                evse_id=evse.id,
                connector_id=1,
            )
        ]

    async def authorize(self, id_token: str) -> bool:
        if not self.ready:
            return self.model.bool("AuthCtrlr", "LocalAuthorizeOffline")
        m = self.messages
        response = await self.call(m.AuthorizeRequest(id_token=self._token(id_token)))
        if response is None:
            return self.model.bool("AuthCtrlr", "LocalAuthorizeOffline")
        return bool(response.id_token_info.status == "Accepted")

    def _token(self, id_token: str) -> Any:
        return self.messages.IdToken(id_token=id_token, type="ISO14443")

    def begin_transaction(self, session: Session) -> None:
        session.transaction_id = str(uuid.uuid4())

    def _meter_value(self, evse: Evse, context: str, measurands: list[str]) -> Any | None:
        m = self.messages
        reading = evse.meter.reading()
        sampled = []
        for measurand in measurands:
            spec = _MEASURANDS.get(measurand)
            if spec is None:
                continue
            unit, attribute = spec
            value = getattr(reading, attribute)
            if value is None:
                continue
            sampled.append(
                m.SampledValue(
                    value=Decimal(str(value)),
                    context=context,
                    measurand=measurand,
                    location="EV" if measurand == "SoC" else "Outlet",
                    unit_of_measure=m.UnitOfMeasure(unit=unit),
                )
            )
        if not sampled:
            return None
        return m.MeterValue(timestamp=self.clock.iso(), sampled_value=sampled)

    def _event(
        self,
        session: Session,
        event_type: str,
        trigger: str,
        meter_value: Any | None,
        *,
        stopped_reason: str | None = None,
        with_token: bool = False,
    ) -> None:
        m = self.messages
        evse = self.evses[session.evse_id - 1]
        seq_no = session.next_seq()
        offline = not self.ready
        timestamp = self.clock.iso()
        state = charging_state(evse.status.status).value
        if event_type == "Ended":
            state = "EVConnected"
        transaction = m.Transaction(
            transaction_id=session.transaction_id,
            charging_state=state,
            stopped_reason=stopped_reason,
            remote_start_id=session.remote_start_id if event_type == "Started" else None,
        )
        request = m.TransactionEventRequest(
            event_type=event_type,
            timestamp=timestamp,
            trigger_reason=trigger,
            seq_no=seq_no,
            transaction_info=transaction,
            offline=True if offline else None,
            evse=m.EVSE(id=session.evse_id, connector_id=1) if event_type == "Started" else None,
            id_token=self._token(session.id_token) if with_token else None,
            meter_value=[meter_value] if meter_value is not None else None,
            reservation_id=session.reservation_id if event_type == "Started" else None,
        )
        self.enqueue(
            "TransactionEvent",
            lambda: request,
            session=session,
            droppable=event_type == "Updated" and trigger == "MeterValuePeriodic",
        )

    def queue_started(self, session: Session) -> None:
        evse = self.evses[session.evse_id - 1]
        trigger = "RemoteStart" if session.remote_start_id is not None else "Authorized"
        measurands = self.model.members("SampledDataCtrlr", "TxStartedMeasurands")
        self._event(
            session,
            "Started",
            trigger,
            self._meter_value(evse, "Transaction.Begin", measurands),
            with_token=True,
        )

    def queue_updated(self, session: Session, trigger: str = "MeterValuePeriodic") -> None:
        evse = self.evses[session.evse_id - 1]
        measurands = self.model.members("SampledDataCtrlr", "TxUpdatedMeasurands")
        context = "Sample.Periodic" if trigger == "MeterValuePeriodic" else "Other"
        if trigger == "Trigger":
            context = "Trigger"
        self._event(session, "Updated", trigger, self._meter_value(evse, context, measurands))

    def queue_ended(self, session: Session) -> None:
        evse = self.evses[session.evse_id - 1]
        stopped, trigger = _REASONS[session.stop_reason or StopReason.LOCAL]
        measurands = self.model.members("SampledDataCtrlr", "TxEndedMeasurands")
        self._event(
            session,
            "Ended",
            trigger,
            self._meter_value(evse, "Transaction.End", measurands),
            stopped_reason=stopped,
        )

    def tx_answered(self, message: QueuedMessage[Any], response: Any) -> None:
        session: Session | None = message.meta.get("session")
        info = getattr(response, "id_token_info", None)
        if session is None or info is None or session.ended is not None:
            return
        if info.status != "Accepted" and self.model.bool("TxCtrlr", "StopTxOnInvalidId"):
            session.rejected = True
            self.evses[session.evse_id - 1].stop_event.set()


class Station201(Station2x):
    """OCPP 2.0.1."""

    version = OcppVersion.V201
    messages = v201


class Station21(Station2x):
    """OCPP 2.1 (the 2.0.1 behaviour with the 2.1 message classes)."""

    version = OcppVersion.V21
    messages = v21


def _profile_from_2x(profile: Any, evse_id: int, clock: SimClock) -> ChargingProfile:
    """The version-neutral profile; the CSMS's absolute times are mapped onto the simulated
    timeline (:meth:`SimClock.from_ocpp`), its relative periods stay simulated seconds."""
    schedules = profile.charging_schedule
    schedule = schedules[0] if isinstance(schedules, list) else schedules
    return ChargingProfile(
        id=profile.id,
        stack_level=profile.stack_level,
        purpose=_PURPOSES.get(str(profile.charging_profile_purpose), Purpose.TX_DEFAULT),
        kind=ProfileKind(str(profile.charging_profile_kind))
        if str(profile.charging_profile_kind) in ("Absolute", "Recurring", "Relative")
        else ProfileKind.ABSOLUTE,
        schedule=ChargingSchedule(
            unit=RateUnit.A if str(schedule.charging_rate_unit) == "A" else RateUnit.W,
            periods=[
                SchedulePeriod(
                    p.start_period, float(p.limit if p.limit is not None else 0), p.number_phases
                )
                for p in schedule.charging_schedule_period
            ],
            start=clock.from_ocpp(schedule.start_schedule),
            duration_s=schedule.duration,
        ),
        evse_id=evse_id,
        recurrency=None
        if profile.recurrency_kind is None
        else Recurrency(str(profile.recurrency_kind)),
        valid_from=clock.from_ocpp(profile.valid_from),
        valid_to=clock.from_ocpp(profile.valid_to),
        transaction_id=profile.transaction_id,
        installed_at=clock.now(),
    )


def _component_key(component: Any) -> ComponentKey:
    evse = component.evse
    return ComponentKey(
        component.name,
        component.instance,
        None if evse is None else evse.id,
        None if evse is None else evse.connector_id,
    )


class ChargingStation2x(StationClient):
    """Answers the CSMS's 2.0.1 / 2.1 CALLs for a :class:`Station2x`.

    Routes are declared by action name, so they serve both versions; responses are built from
    the station's message module. Actions without a handler (firmware, logs, certificates,
    display messages, monitoring, local list, ...) are answered NotSupported by the base class.
    """

    def __init__(self, connection: OcppConnection, station: Station2x) -> None:
        super().__init__(connection)
        self.station = station
        self.m: Any = station.messages

    async def handle_call(self, context: CallContext, request: Any) -> Any:
        self.station.stats.calls += 1
        self.station.log.append(("in", context.action))
        return await super().handle_call(context, request)

    # -- transactions (F01, F02, F05) -------------------------------------------------------

    @on("RequestStartTransaction")
    def request_start(self, request: Any) -> Any:
        station = self.station
        m = self.m
        rejected = m.RequestStartTransactionResponse(status="Rejected")
        token = request.id_token.id_token
        candidates = (
            [e for e in [station.evse(request.evse_id)] if e is not None]
            if request.evse_id is not None
            else list(station.evses)
        )
        for evse in candidates:
            if (
                evse.free
                and station.station_operative
                and station.reservations.matches(evse.id, token)
            ):
                break
        else:
            return rejected
        profile = None
        if request.charging_profile is not None:
            if str(request.charging_profile.charging_profile_purpose) != "TxProfile":
                return rejected
            profile = _profile_from_2x(request.charging_profile, evse.id, station.clock)
        station.start_remote(evse, token, request.remote_start_id, profile)
        return m.RequestStartTransactionResponse(status="Accepted")

    @on("RequestStopTransaction")
    def request_stop(self, request: Any) -> Any:
        evse = self.station.find_session(request.transaction_id)
        if evse is None or not self.station.request_stop(evse, StopReason.REMOTE):
            return self.m.RequestStopTransactionResponse(status="Rejected")
        return self.m.RequestStopTransactionResponse(status="Accepted")

    @on("UnlockConnector")
    def unlock(self, request: Any) -> Any:
        evse = self.station.evse(request.evse_id)
        if evse is None or request.connector_id != 1:
            return self.m.UnlockConnectorResponse(status="UnknownConnector")
        if evse.session is not None:
            # F05.FR.02: an authorized transaction is not ended by an unlock request.
            return self.m.UnlockConnectorResponse(status="OngoingAuthorizedTransaction")
        return self.m.UnlockConnectorResponse(status="Unlocked")

    # -- reset and availability (B11, B12, G03, G04) ----------------------------------------

    @on("Reset")
    def reset(self, request: Any) -> Any:
        if request.evse_id is not None:
            return self.m.ResetResponse(status="Rejected")  # EVSE-level reset not modelled
        busy = any(e.session is not None for e in self.station.evses)
        if str(request.type) == "OnIdle" and busy:
            self.station.spawn(self._reset_when_idle())
            return self.m.ResetResponse(status="Scheduled")
        return self.m.ResetResponse(status="Accepted")

    async def _reset_when_idle(self) -> None:
        station = self.station
        reboots = station.reboots
        await station.wait_for(
            lambda: all(e.session is None for e in station.evses) or station.reboots != reboots
        )
        if station.reboots == reboots:  # not superseded by an Immediate reset meanwhile
            await station.reboot(StopReason.SOFT_RESET)

    @after("Reset")
    def after_reset(self, request: Any) -> None:
        busy = any(e.session is not None for e in self.station.evses)
        if request.evse_id is None and (str(request.type) == "Immediate" or not busy):
            self.station.spawn(self.station.reboot(StopReason.HARD_RESET))

    @on("ChangeAvailability")
    def change_availability(self, request: Any) -> Any:
        station = self.station
        operative = str(request.operational_status) == "Operative"
        if request.evse is None or request.evse.id == 0:
            targets = list(station.evses)
            station.station_operative = operative
        else:
            evse = station.evse(request.evse.id)
            if evse is None:
                return self.m.ChangeAvailabilityResponse(status="Rejected")
            targets = [evse]
        scheduled = station.change_availability(targets, operative)
        return self.m.ChangeAvailabilityResponse(status="Scheduled" if scheduled else "Accepted")

    # -- device model (B05, B06, B07) -------------------------------------------------------

    @on("GetVariables")
    def get_variables(self, request: Any) -> Any:
        m = self.m
        results = []
        for item in request.get_variable_data:
            key = VariableKey(
                _component_key(item.component), item.variable.name, item.variable.instance
            )
            attribute = str(item.attribute_type or "Actual")
            status, value = self.station.model.get(key, attribute)
            results.append(
                m.GetVariableResult(
                    attribute_status=status.value,
                    attribute_type=item.attribute_type,
                    attribute_value=value,
                    component=item.component,
                    variable=item.variable,
                )
            )
        return m.GetVariablesResponse(get_variable_result=results)

    @on("SetVariables")
    def set_variables(self, request: Any) -> Any:
        m = self.m
        station = self.station
        results = []
        for item in request.set_variable_data:
            key = VariableKey(
                _component_key(item.component), item.variable.name, item.variable.instance
            )
            attribute = str(item.attribute_type or "Actual")
            status = station.model.set(key, item.attribute_value, attribute)
            if status.value == "Accepted" and key.name == "HeartbeatInterval":
                station.heartbeat_interval = float(item.attribute_value)
            results.append(
                m.SetVariableResult(
                    attribute_status=status.value,
                    attribute_type=item.attribute_type,
                    component=item.component,
                    variable=item.variable,
                )
            )
        station.notify()
        return m.SetVariablesResponse(set_variable_result=results)

    @on("GetBaseReport")
    def get_base_report(self, request: Any) -> Any:
        if self.station.model.report(str(request.report_base)) is None:
            return self.m.GetBaseReportResponse(status="NotSupported")
        return self.m.GetBaseReportResponse(status="Accepted")

    @after("GetBaseReport")
    def after_get_base_report(self, request: Any) -> None:
        self.station.spawn(self._notify_report(request.request_id, str(request.report_base)))

    async def _notify_report(self, request_id: int, base: str) -> None:
        station = self.station
        m = self.m
        variables = station.model.report(base) or []
        per_message = station.model.int("DeviceDataCtrlr", "ItemsPerMessage", "GetReport")
        chunks = [variables[i : i + per_message] for i in range(0, len(variables), per_message)]
        for seq_no, chunk in enumerate(chunks):
            data = []
            for variable in chunk:
                component = variable.key.component
                evse = None
                if component.evse_id is not None:
                    evse = m.EVSE(id=component.evse_id, connector_id=component.connector_id)
                write_only = variable.mutability.value == "WriteOnly"
                data.append(
                    m.ReportData(
                        component=m.Component(
                            name=component.name, instance=component.instance, evse=evse
                        ),
                        variable=m.Variable(name=variable.key.name, instance=variable.key.instance),
                        variable_attribute=[
                            m.VariableAttribute(
                                type="Actual",
                                value=None if write_only else variable.value,
                                mutability=variable.mutability.value,
                            )
                        ],
                        variable_characteristics=m.VariableCharacteristics(
                            data_type=variable.data_type.value,
                            supports_monitoring=False,
                            unit=variable.unit,
                            values_list=",".join(variable.values) if variable.values else None,
                        ),
                    )
                )
            await station.call(
                m.NotifyReportRequest(
                    request_id=request_id,
                    generated_at=station.clock.iso(),
                    seq_no=seq_no,
                    tbc=True if seq_no < len(chunks) - 1 else None,
                    report_data=data,
                )
            )

    # -- misc -------------------------------------------------------------------------------

    @on("ClearCache")
    def clear_cache(self, request: Any) -> Any:
        return self.m.ClearCacheResponse(status="Accepted")

    @on("DataTransfer")
    def data_transfer(self, request: Any) -> Any:
        if request.vendor_id != self.station.scenario.vendor:
            return self.m.DataTransferResponse(status="UnknownVendorId")
        return self.m.DataTransferResponse(status="Accepted", data=request.data)

    @on("TriggerMessage")
    def trigger(self, request: Any) -> Any:
        supported = {
            "BootNotification",
            "Heartbeat",
            "MeterValues",
            "StatusNotification",
            "TransactionEvent",
        }
        if str(request.requested_message) not in supported:
            return self.m.TriggerMessageResponse(status="NotImplemented")
        if request.evse is not None and self.station.evse(request.evse.id) is None:
            return self.m.TriggerMessageResponse(status="Rejected")
        return self.m.TriggerMessageResponse(status="Accepted")

    @after("TriggerMessage")
    def after_trigger(self, request: Any) -> None:
        station = self.station
        m = self.m
        message = str(request.requested_message)
        if message not in {"BootNotification", "Heartbeat", "MeterValues", "StatusNotification",
                           "TransactionEvent"}:  # fmt: skip
            return
        evses = station.evses
        if request.evse is not None:
            evses = [e for e in [station.evse(request.evse.id)] if e is not None]
        if message == "BootNotification":
            request_ = station.boot_request()
            request_.reason = "Triggered"
            station.spawn(station.call(request_))
        elif message == "Heartbeat":
            station.spawn(station.call(station.heartbeat_request()))
        elif message == "StatusNotification":
            for evse in evses:
                station.send_status(evse)
        elif message == "MeterValues":
            measurands = station.model.members("AlignedDataCtrlr", "Measurands")
            for evse in evses:
                station.advance(evse)
                value = station._meter_value(evse, "Trigger", measurands)
                if value is not None:
                    station.spawn(
                        station.call(m.MeterValuesRequest(evse_id=evse.id, meter_value=[value]))
                    )
        else:
            for evse in evses:
                if evse.session is not None:
                    station.advance(evse)
                    station.queue_updated(evse.session, "Trigger")

    # -- reservations (H01–H04) -------------------------------------------------------------

    @on("ReserveNow")
    def reserve_now(self, request: Any) -> Any:
        station = self.station
        m = self.m
        if request.evse_id is None:
            return m.ReserveNowResponse(status="Rejected")  # ReservationCtrlr.NonEvseSpecific
        evse = station.evse(request.evse_id)
        if evse is None:
            return m.ReserveNowResponse(status="Rejected")
        if evse.fault is not None:
            return m.ReserveNowResponse(status="Faulted")
        if not evse.operative or not station.station_operative:
            return m.ReserveNowResponse(status="Unavailable")
        holder = station.reservations.for_evse(evse.id)
        if evse.busy or (holder is not None and holder.id != request.id):
            return m.ReserveNowResponse(status="Occupied")
        expiry = station.clock.from_ocpp(request.expiry_date_time) or station.clock.now()
        group = None if request.group_id_token is None else request.group_id_token.id_token
        station.reservations.add(
            Reservation(request.id, evse.id, request.id_token.id_token, expiry, group)
        )
        station.settle(evse)
        return m.ReserveNowResponse(status="Accepted")

    @on("CancelReservation")
    def cancel_reservation(self, request: Any) -> Any:
        reservation = self.station.reservations.cancel(request.reservation_id)
        if reservation is None:
            return self.m.CancelReservationResponse(status="Rejected")
        evse = self.station.evse(reservation.evse_id)
        if evse is not None:
            self.station.settle(evse)
        return self.m.CancelReservationResponse(status="Accepted")

    # -- smart charging (K01, K10, K08) -----------------------------------------------------

    @on("SetChargingProfile")
    def set_charging_profile(self, request: Any) -> Any:
        station = self.station
        for evse in station.evses:
            if evse.session is not None:
                station.advance(evse)
        profile = _profile_from_2x(request.charging_profile, request.evse_id, station.clock)
        if station.profiles.install(profile) is not None:
            return self.m.SetChargingProfileResponse(status="Rejected")
        return self.m.SetChargingProfileResponse(status="Accepted")

    @on("ClearChargingProfile")
    def clear_charging_profile(self, request: Any) -> Any:
        criteria = request.charging_profile_criteria
        purpose = None
        evse_id = stack_level = None
        if criteria is not None:
            if criteria.charging_profile_purpose is not None:
                purpose = _PURPOSES.get(str(criteria.charging_profile_purpose))
            evse_id = criteria.evse_id
            stack_level = criteria.stack_level
        for evse in self.station.evses:
            if evse.session is not None:
                self.station.advance(evse)
        removed = self.station.profiles.clear(
            profile_id=request.charging_profile_id,
            evse_id=evse_id,
            purpose=purpose,
            stack_level=stack_level,
        )
        return self.m.ClearChargingProfileResponse(status="Accepted" if removed else "Unknown")

    @on("GetCompositeSchedule")
    def get_composite_schedule(self, request: Any) -> Any:
        station = self.station
        m = self.m
        if request.evse_id != 0 and station.evse(request.evse_id) is None:
            return m.GetCompositeScheduleResponse(status="Rejected")
        unit = RateUnit.A if str(request.charging_rate_unit) == "A" else RateUnit.W
        count = len(station.evses) if request.evse_id == 0 else 1
        composite = station.profiles.composite(
            request.evse_id,
            station.clock.now(),
            request.duration,
            unit,
            evse_max_w=station.max_power_w * count,
        )
        return m.GetCompositeScheduleResponse(
            status="Accepted",
            schedule=m.CompositeSchedule(
                evse_id=request.evse_id,
                duration=composite.duration_s,
                schedule_start=station.clock.iso(composite.start),
                charging_rate_unit=unit.value,
                charging_schedule_period=[
                    m.ChargingSchedulePeriod(start_period=p.start_s, limit=Decimal(str(p.limit)))
                    for p in composite.periods
                ],
            ),
        )
