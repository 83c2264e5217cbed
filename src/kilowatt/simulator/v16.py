"""OCPP 1.6 charge point: messages of the Core, Reservation, Smart Charging, Remote Trigger and
Local Auth List profiles on top of :class:`~kilowatt.simulator.station.SimStation`.

Sources: OCPP 1.6 edition 2, §4 (operations initiated by the charge point), §5 (operations
initiated by the central system), §9 (configuration keys).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kilowatt.ocpp import v16
from kilowatt.ocpp.routing import after, on
from kilowatt.ocpp.version import OcppVersion
from kilowatt.simulator.config16 import ConfigStatus, ConfigStore
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
from kilowatt.simulator.status import ChargePointStatus
from kilowatt.transport.connection import CallContext, OcppConnection
from kilowatt.transport.peer import StationClient

__all__ = ["Station16"]

_REASONS: dict[StopReason, v16.StopTransactionReason] = {
    StopReason.LOCAL: v16.StopTransactionReason.LOCAL,
    StopReason.REMOTE: v16.StopTransactionReason.REMOTE,
    StopReason.EV_DISCONNECTED: v16.StopTransactionReason.EV_DISCONNECTED,
    StopReason.HARD_RESET: v16.StopTransactionReason.HARD_RESET,
    StopReason.SOFT_RESET: v16.StopTransactionReason.SOFT_RESET,
    StopReason.DEAUTHORIZED: v16.StopTransactionReason.DE_AUTHORIZED,
    StopReason.UNLOCK: v16.StopTransactionReason.UNLOCK_COMMAND,
    StopReason.FAULT: v16.StopTransactionReason.OTHER,
    StopReason.POWER_LOSS: v16.StopTransactionReason.POWER_LOSS,
    # The run ended: the operator switches the charger off. Not "Local" (1.6 Reason: stopped
    # on request of the user at the charge point), not a reset or power loss: "Other".
    StopReason.SHUTDOWN: v16.StopTransactionReason.OTHER,
}

# Measurand -> (unit, how to read it from a MeterReading). Units per §7.34 UnitOfMeasure.
_MEASURANDS: dict[str, tuple[v16.Unit, str]] = {
    "Energy.Active.Import.Register": (v16.Unit.WH, "energy_wh"),
    "Power.Active.Import": (v16.Unit.W, "power_w"),
    "Current.Import": (v16.Unit.A, "current_a"),
    "Voltage": (v16.Unit.V, "voltage_v"),
    "SoC": (v16.Unit.PERCENT, "soc_pct"),
}


class Station16(SimStation):
    """A simulated OCPP 1.6 charge point (one connector per EVSE; connector id = EVSE id)."""

    version = OcppVersion.V16
    connector_zero = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        overrides = {
            "HeartbeatInterval": str(self.scenario.heartbeat_interval_s),
            "MeterValueSampleInterval": str(self.scenario.sample_interval_s),
        }
        overrides.update(self.scenario.configuration)
        if self.override is not None:
            overrides.update(self.override.configuration)
        self.config = ConfigStore(len(self.evses), overrides)
        self.config.on_change(self._config_changed)
        self.station_operative = True

    def _config_changed(self, key: str, value: str) -> None:
        if key == "HeartbeatInterval":
            self.heartbeat_interval = float(value)
        self.notify()

    # -- hooks ------------------------------------------------------------------------------

    def make_peer(self, connection: OcppConnection) -> StationClient:
        return ChargePoint16(connection, self)

    def boot_request(self) -> v16.BootNotificationRequest:
        return v16.BootNotificationRequest(
            charge_point_vendor=self.scenario.vendor,
            charge_point_model=self.scenario.model,
            charge_point_serial_number=self.identity[:25],
            firmware_version=self.scenario.firmware,
        )

    def heartbeat_request(self) -> v16.HeartbeatRequest:
        return v16.HeartbeatRequest()

    def heartbeat_changed(self, interval: int) -> None:
        self.config.change("HeartbeatInterval", str(interval))

    def sample_interval(self) -> float:
        return float(self.config.int("MeterValueSampleInterval"))

    def authorize_remote(self) -> bool:
        return self.config.bool("AuthorizeRemoteTxRequests")

    def message_attempts(self) -> tuple[int, float]:
        return (
            self.config.int("TransactionMessageAttempts"),
            float(self.config.int("TransactionMessageRetryInterval")),
        )

    def idle_status(self, evse: Evse) -> ChargePointStatus:
        if evse.fault is None and not self.station_operative:
            return ChargePointStatus.UNAVAILABLE
        return super().idle_status(evse)

    def status_requests(self, evse: Evse | None) -> list[Any]:
        if evse is None:
            status = "Available" if self.station_operative else "Unavailable"
            code = v16.StatusNotificationErrorCode.NO_ERROR
            connector = 0
        else:
            status = evse.status.status.value
            code = v16.StatusNotificationErrorCode.NO_ERROR
            if evse.fault is not None and evse.status.status is ChargePointStatus.FAULTED:
                try:
                    code = v16.StatusNotificationErrorCode(evse.fault)
                except ValueError:
                    code = v16.StatusNotificationErrorCode.OTHER_ERROR
            connector = evse.id
        return [
            v16.StatusNotificationRequest(
                connector_id=connector,
                error_code=code,
                status=v16.StatusNotificationStatus(status),
                timestamp=self.clock.iso(),
            )
        ]

    async def authorize(self, id_token: str) -> bool:
        if not self.ready:
            # Offline: LocalAuthorizeOffline lets a charger accept a token it cannot check
            # (§3.5 "Local Authorization & Offline Behavior"; no cache modelled).
            return self.config.bool("LocalAuthorizeOffline")
        response = await self.call(v16.AuthorizeRequest(id_tag=id_token))
        if response is None:
            return self.config.bool("LocalAuthorizeOffline")
        return bool(response.id_tag_info.status == v16.IdTagInfoStatus.ACCEPTED)

    def _sampled(self, evse: Evse, context: v16.Context) -> list[v16.SampledValue]:
        reading = evse.meter.reading()
        values = []
        for measurand in self.config.csl("MeterValuesSampledData"):
            spec = _MEASURANDS.get(measurand)
            if spec is None:
                continue
            unit, attribute = spec
            value = getattr(reading, attribute)
            if value is None:
                continue
            values.append(
                v16.SampledValue(
                    value=f"{value:.1f}" if attribute != "current_a" else f"{value:.2f}",
                    context=context,
                    measurand=v16.Measurand(measurand),
                    unit=unit,
                    location=v16.Location.EV if measurand == "SoC" else v16.Location.OUTLET,
                )
            )
        return values

    def queue_started(self, session: Session) -> None:
        meter_start = int(session.meter_start_wh)
        timestamp = self.clock.iso(session.started)

        def build() -> v16.StartTransactionRequest:
            return v16.StartTransactionRequest(
                connector_id=session.evse_id,
                id_tag=session.id_token,
                meter_start=meter_start,
                timestamp=timestamp,
                reservation_id=session.reservation_id,
            )

        self.enqueue("StartTransaction", build, session=session)

    def queue_updated(self, session: Session, trigger: str = "MeterValuePeriodic") -> None:
        evse = self.evses[session.evse_id - 1]
        sampled = self._sampled(evse, v16.Context.SAMPLE_PERIODIC)
        if not sampled:
            return
        timestamp = self.clock.iso()

        def build() -> v16.MeterValuesRequest | None:
            if session.transaction_id is None and session.rejected:
                return None
            return v16.MeterValuesRequest(
                connector_id=session.evse_id,
                transaction_id=None
                if session.transaction_id is None
                else int(session.transaction_id),
                meter_value=[v16.MeterValue(timestamp=timestamp, sampled_value=sampled)],
            )

        self.enqueue("MeterValues", build, session=session, droppable=True)

    def queue_ended(self, session: Session) -> None:
        timestamp = self.clock.iso(session.ended)
        meter_stop = int(session.meter_stop_wh or session.meter_start_wh)
        reason = _REASONS[session.stop_reason or StopReason.LOCAL]

        def build() -> v16.StopTransactionRequest | None:
            if session.transaction_id is None:
                return None  # the StartTransaction was given up on: nothing to stop
            return v16.StopTransactionRequest(
                meter_stop=meter_stop,
                timestamp=timestamp,
                transaction_id=int(session.transaction_id),
                id_tag=session.id_token,
                reason=None if reason is v16.StopTransactionReason.LOCAL else reason,
            )

        self.enqueue("StopTransaction", build, session=session)

    def tx_answered(self, message: QueuedMessage[Any], response: Any) -> None:
        if not isinstance(response, v16.StartTransactionResponse):
            return
        session: Session | None = message.meta.get("session")
        if session is None:
            return
        session.transaction_id = str(response.transaction_id)
        if session.ended is None:
            self.profiles.transaction_started(
                session.evse_id, session.transaction_id, session.started
            )
        if response.id_tag_info.status != v16.IdTagInfoStatus.ACCEPTED and self.config.bool(
            "StopTransactionOnInvalidId"
        ):
            session.rejected = True  # the session loop stops with reason DeAuthorized
            self.evses[session.evse_id - 1].stop_event.set()


def _profile_from_16(
    profile: v16.CsChargingProfiles | v16.ChargingProfile, evse_id: int, clock: SimClock
) -> ChargingProfile:
    """The version-neutral profile; the CSMS's absolute times are mapped onto the simulated
    timeline (:meth:`SimClock.from_ocpp`), its relative periods stay simulated seconds."""
    schedule = profile.charging_schedule
    purposes = {
        v16.ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE: Purpose.STATION_MAX,
        v16.ChargingProfilePurpose.TX_DEFAULT_PROFILE: Purpose.TX_DEFAULT,
        v16.ChargingProfilePurpose.TX_PROFILE: Purpose.TX,
    }
    return ChargingProfile(
        id=profile.charging_profile_id,
        stack_level=profile.stack_level,
        purpose=purposes[profile.charging_profile_purpose],
        kind=ProfileKind(profile.charging_profile_kind.value),
        schedule=ChargingSchedule(
            unit=RateUnit.A if schedule.charging_rate_unit.value == "A" else RateUnit.W,
            periods=[
                SchedulePeriod(p.start_period, float(p.limit), p.number_phases)
                for p in schedule.charging_schedule_period
            ],
            start=clock.from_ocpp(schedule.start_schedule),
            duration_s=schedule.duration,
            min_rate=None
            if schedule.min_charging_rate is None
            else float(schedule.min_charging_rate),
        ),
        evse_id=evse_id,
        recurrency=None
        if profile.recurrency_kind is None
        else Recurrency(profile.recurrency_kind.value),
        valid_from=clock.from_ocpp(profile.valid_from),
        valid_to=clock.from_ocpp(profile.valid_to),
        transaction_id=None if profile.transaction_id is None else str(profile.transaction_id),
        installed_at=clock.now(),
    )


class ChargePoint16(StationClient):
    """Answers the central system's 1.6 CALLs for a :class:`Station16`.

    Every action of 1.6 without a handler here (firmware, diagnostics, local list, security
    extensions) is answered NotSupported by :class:`~kilowatt.transport.peer.Peer`.
    """

    def __init__(self, connection: OcppConnection, station: Station16) -> None:
        super().__init__(connection)
        self.station = station
        self._triggered: list[tuple[str, int | None]] = []

    async def handle_call(self, context: CallContext, request: Any) -> Any:
        self.station.stats.calls += 1
        self.station.log.append(("in", context.action))
        return await super().handle_call(context, request)

    # -- transactions -----------------------------------------------------------------------

    @on(v16.RemoteStartTransactionRequest)
    def remote_start(
        self, request: v16.RemoteStartTransactionRequest
    ) -> v16.RemoteStartTransactionResponse:
        """§5.11: start a session on the given (or first free) connector."""
        station = self.station
        rejected = v16.RemoteStartTransactionResponse(
            status=v16.RemoteStartTransactionStatus.REJECTED
        )
        if request.connector_id is not None:
            evse = station.evse(request.connector_id)
            candidates = [evse] if evse is not None else []
        else:
            candidates = list(station.evses)
        for evse in candidates:
            if (
                evse.free
                and station.station_operative
                and station.reservations.matches(evse.id, request.id_tag)
            ):
                break
        else:
            return rejected
        if request.charging_profile is not None and (
            request.charging_profile.charging_profile_purpose
            != v16.ChargingProfilePurpose.TX_PROFILE
        ):
            return rejected
        profile = None
        if request.charging_profile is not None:
            profile = _profile_from_16(request.charging_profile, evse.id, station.clock)
        station.start_remote(evse, request.id_tag, profile=profile)
        return v16.RemoteStartTransactionResponse(status=v16.RemoteStartTransactionStatus.ACCEPTED)

    @on(v16.RemoteStopTransactionRequest)
    def remote_stop(
        self, request: v16.RemoteStopTransactionRequest
    ) -> v16.RemoteStopTransactionResponse:
        """§5.12: stop the transaction with this id."""
        evse = self.station.find_session(str(request.transaction_id))
        if evse is None or not self.station.request_stop(evse, StopReason.REMOTE):
            return v16.RemoteStopTransactionResponse(
                status=v16.RemoteStopTransactionStatus.REJECTED
            )
        return v16.RemoteStopTransactionResponse(status=v16.RemoteStopTransactionStatus.ACCEPTED)

    @on(v16.ResetRequest)
    def reset(self, request: v16.ResetRequest) -> v16.ResetResponse:
        """§5.14: accept; the reboot happens after the answer is sent (see ``after_reset``)."""
        return v16.ResetResponse(status=v16.ResetStatus.ACCEPTED)

    @after(v16.ResetRequest)
    def after_reset(self, request: v16.ResetRequest) -> None:
        reason = (
            StopReason.HARD_RESET if request.type == v16.ResetType.HARD else StopReason.SOFT_RESET
        )
        boot_reason = "RemoteReset"
        self.station.spawn(self.station.reboot(reason, boot_reason))

    @on(v16.UnlockConnectorRequest)
    def unlock(self, request: v16.UnlockConnectorRequest) -> v16.UnlockConnectorResponse:
        """§5.18: a running transaction stops (reason UnlockCommand), then the cable is free."""
        evse = self.station.evse(request.connector_id)
        if evse is None:
            return v16.UnlockConnectorResponse(status=v16.UnlockConnectorStatus.NOT_SUPPORTED)
        self.station.request_stop(evse, StopReason.UNLOCK)
        return v16.UnlockConnectorResponse(status=v16.UnlockConnectorStatus.UNLOCKED)

    @on(v16.ChangeAvailabilityRequest)
    def change_availability(
        self, request: v16.ChangeAvailabilityRequest
    ) -> v16.ChangeAvailabilityResponse:
        """§5.2: Inoperative makes connectors Unavailable (Scheduled while a transaction runs,
        applied when it ends); Operative makes them available again. Connector 0 = all."""
        station = self.station
        operative = request.type == v16.ChangeAvailabilityType.OPERATIVE
        if request.connector_id == 0:
            targets = list(station.evses)
            station.station_operative = operative
        else:
            evse = station.evse(request.connector_id)
            if evse is None:
                return v16.ChangeAvailabilityResponse(status=v16.ChangeAvailabilityStatus.REJECTED)
            targets = [evse]
        scheduled = station.change_availability(targets, operative)
        if request.connector_id == 0:
            station.send_status(None)
        status = (
            v16.ChangeAvailabilityStatus.SCHEDULED
            if scheduled
            else v16.ChangeAvailabilityStatus.ACCEPTED
        )
        return v16.ChangeAvailabilityResponse(status=status)

    # -- configuration ----------------------------------------------------------------------

    @on(v16.GetConfigurationRequest)
    def get_configuration(
        self, request: v16.GetConfigurationRequest
    ) -> v16.GetConfigurationResponse:
        """§5.8: known keys with readonly flags and values; unknown keys listed."""
        known, unknown = self.station.config.get(request.key)
        limit = self.station.config.int("GetConfigurationMaxKeys")
        return v16.GetConfigurationResponse(
            configuration_key=[
                v16.ConfigurationKey(key=k.name, readonly=k.readonly, value=k.value)
                for k in known[:limit]
            ]
            or None,
            unknown_key=unknown or None,
        )

    @on(v16.ChangeConfigurationRequest)
    def change_configuration(
        self, request: v16.ChangeConfigurationRequest
    ) -> v16.ChangeConfigurationResponse:
        """§5.3: Accepted / Rejected (read-only or invalid) / RebootRequired / NotSupported."""
        status: ConfigStatus = self.station.config.change(request.key, request.value)
        return v16.ChangeConfigurationResponse(status=v16.ChangeConfigurationStatus(status.value))

    @on(v16.ClearCacheRequest)
    def clear_cache(self, request: v16.ClearCacheRequest) -> v16.ClearCacheResponse:
        """§5.4: the simulator keeps no authorization cache, so there is nothing to clear."""
        return v16.ClearCacheResponse(status=v16.ClearCacheStatus.ACCEPTED)

    @on(v16.DataTransferRequest)
    def data_transfer(self, request: v16.DataTransferRequest) -> v16.DataTransferResponse:
        """§5.6: vendor "Kilowatt" echoes the data back; other vendors are unknown."""
        if request.vendor_id != self.station.scenario.vendor:
            return v16.DataTransferResponse(status=v16.DataTransferStatus.UNKNOWN_VENDOR_ID)
        return v16.DataTransferResponse(status=v16.DataTransferStatus.ACCEPTED, data=request.data)

    # -- trigger --------------------------------------------------------------------------

    @on(v16.TriggerMessageRequest)
    def trigger(self, request: v16.TriggerMessageRequest) -> v16.TriggerMessageResponse:
        """§5.17: BootNotification, Heartbeat, MeterValues and StatusNotification are sent
        after the answer; diagnostics/firmware status are not implemented."""
        supported = {"BootNotification", "Heartbeat", "MeterValues", "StatusNotification"}
        message = request.requested_message.value
        if message not in supported:
            return v16.TriggerMessageResponse(status=v16.TriggerMessageStatus.NOT_IMPLEMENTED)
        if request.connector_id is not None and self.station.evse(request.connector_id) is None:
            return v16.TriggerMessageResponse(status=v16.TriggerMessageStatus.REJECTED)
        return v16.TriggerMessageResponse(status=v16.TriggerMessageStatus.ACCEPTED)

    @after(v16.TriggerMessageRequest)
    def after_trigger(self, request: v16.TriggerMessageRequest) -> None:
        station = self.station
        message = request.requested_message.value
        evses = (
            [e for e in [station.evse(request.connector_id)] if e is not None]
            if request.connector_id
            else station.evses
        )
        if message == "BootNotification":
            station.spawn(station.call(station.boot_request()))
        elif message == "Heartbeat":
            station.spawn(station.call(station.heartbeat_request()))
        elif message == "StatusNotification":
            if not request.connector_id:
                station.send_status(None)
            for evse in evses:
                station.send_status(evse)
        elif message == "MeterValues":
            for evse in evses:
                station.advance(evse)
                sampled = station._sampled(evse, v16.Context.TRIGGER)
                session = evse.session
                tx = None
                if session is not None and session.transaction_id is not None:
                    tx = int(session.transaction_id)
                if sampled:
                    station.spawn(
                        station.call(
                            v16.MeterValuesRequest(
                                connector_id=evse.id,
                                transaction_id=tx,
                                meter_value=[
                                    v16.MeterValue(
                                        timestamp=station.clock.iso(), sampled_value=sampled
                                    )
                                ],
                            )
                        )
                    )

    # -- reservations -----------------------------------------------------------------------

    @on(v16.ReserveNowRequest)
    def reserve_now(self, request: v16.ReserveNowRequest) -> v16.ReserveNowResponse:
        """§5.13: reserve a connector (connector 0 is not supported: ReserveConnectorZeroSupported
        is false)."""
        station = self.station
        evse = station.evse(request.connector_id)
        if evse is None:
            return v16.ReserveNowResponse(status=v16.ReserveNowStatus.REJECTED)
        if evse.fault is not None:
            return v16.ReserveNowResponse(status=v16.ReserveNowStatus.FAULTED)
        if not evse.operative or not station.station_operative:
            return v16.ReserveNowResponse(status=v16.ReserveNowStatus.UNAVAILABLE)
        holder = station.reservations.for_evse(evse.id)
        if evse.busy or (holder is not None and holder.id != request.reservation_id):
            return v16.ReserveNowResponse(status=v16.ReserveNowStatus.OCCUPIED)
        expiry = station.clock.from_ocpp(request.expiry_date) or station.clock.now()
        station.reservations.add(
            Reservation(
                request.reservation_id, evse.id, request.id_tag, expiry, request.parent_id_tag
            )
        )
        station.settle(evse)
        return v16.ReserveNowResponse(status=v16.ReserveNowStatus.ACCEPTED)

    @on(v16.CancelReservationRequest)
    def cancel_reservation(
        self, request: v16.CancelReservationRequest
    ) -> v16.CancelReservationResponse:
        """§5.1: Accepted when the reservation existed."""
        reservation = self.station.reservations.cancel(request.reservation_id)
        if reservation is None:
            return v16.CancelReservationResponse(status=v16.CancelReservationStatus.REJECTED)
        evse = self.station.evse(reservation.evse_id)
        if evse is not None:
            self.station.settle(evse)
        return v16.CancelReservationResponse(status=v16.CancelReservationStatus.ACCEPTED)

    # -- smart charging ---------------------------------------------------------------------

    @on(v16.SetChargingProfileRequest)
    def set_charging_profile(
        self, request: v16.SetChargingProfileRequest
    ) -> v16.SetChargingProfileResponse:
        """§5.16: install the profile; the meter follows the new limit from the next step."""
        station = self.station
        for evse in station.evses:
            if evse.session is not None:
                station.advance(evse)  # book the energy at the old limit first
        profile = _profile_from_16(
            request.cs_charging_profiles, request.connector_id, station.clock
        )
        if station.profiles.install(profile) is not None:
            return v16.SetChargingProfileResponse(status=v16.SetChargingProfileStatus.REJECTED)
        return v16.SetChargingProfileResponse(status=v16.SetChargingProfileStatus.ACCEPTED)

    @on(v16.ClearChargingProfileRequest)
    def clear_charging_profile(
        self, request: v16.ClearChargingProfileRequest
    ) -> v16.ClearChargingProfileResponse:
        """§5.5: Accepted when at least one profile matched, Unknown otherwise."""
        purpose = None
        if request.charging_profile_purpose is not None:
            purpose = {
                "ChargePointMaxProfile": Purpose.STATION_MAX,
                "TxDefaultProfile": Purpose.TX_DEFAULT,
                "TxProfile": Purpose.TX,
            }[request.charging_profile_purpose.value]
        for evse in self.station.evses:
            if evse.session is not None:
                self.station.advance(evse)
        removed = self.station.profiles.clear(
            profile_id=request.id,
            evse_id=request.connector_id,
            purpose=purpose,
            stack_level=request.stack_level,
        )
        status = (
            v16.ClearChargingProfileStatus.ACCEPTED
            if removed
            else v16.ClearChargingProfileStatus.UNKNOWN
        )
        return v16.ClearChargingProfileResponse(status=status)

    @on(v16.GetCompositeScheduleRequest)
    def get_composite_schedule(
        self, request: v16.GetCompositeScheduleRequest
    ) -> v16.GetCompositeScheduleResponse:
        """§5.7: the combined limits for ``duration`` s from now, on a connector (0 = grid
        connection)."""
        station = self.station
        if request.connector_id != 0 and station.evse(request.connector_id) is None:
            return v16.GetCompositeScheduleResponse(status=v16.GetCompositeScheduleStatus.REJECTED)
        unit = RateUnit.A if request.charging_rate_unit == v16.ChargingRateUnit.A else RateUnit.W
        composite = station.profiles.composite(
            request.connector_id,
            station.clock.now(),
            request.duration,
            unit,
            evse_max_w=station.max_power_w
            * (len(station.evses) if request.connector_id == 0 else 1),
        )
        return v16.GetCompositeScheduleResponse(
            status=v16.GetCompositeScheduleStatus.ACCEPTED,
            connector_id=request.connector_id,
            schedule_start=station.clock.iso(composite.start),
            charging_schedule=v16.ChargingSchedule(
                charging_rate_unit=v16.ChargingRateUnit(unit.value),
                duration=composite.duration_s,
                start_schedule=station.clock.iso(composite.start),
                charging_schedule_period=[
                    v16.ChargingSchedulePeriod(
                        start_period=p.start_s, limit=Decimal(str(p.limit)), number_phases=p.phases
                    )
                    for p in composite.periods
                ],
            ),
        )
