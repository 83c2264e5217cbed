"""OCPP 2.1: the 2.0.1 handler with the 2.1 messages, plus the actions 2.1 adds.

2.1 keeps the 2.0.1 use cases (same field names, some enums widened to strings), so
:class:`V21Handler` reuses :class:`~kilowatt.handlers.v201.V201Handler` with ``m = v21``.
Station-initiated actions new in 2.1 (OCPP 2.1 Part 2):

=====================================  =====================================================
BatterySwap [C24]                      stored as a station event
OpenPeriodicEventStream [N08]          Accepted; NotifyPeriodicEventStream (SEND) stored
ClosePeriodicEventStream [N08]         stored
NotifyPeriodicEventStream [N08]        SEND frame (no answer): stored
NotifyDERAlarm, NotifyDERStartStop,    stored as station events
ReportDERControl [R04-R06]
NotifyPriorityCharging [K21]           stored
NotifySettlement [C18]                 stored; no receipt is issued (both fields optional)
NotifyEVChargingNeeds [K15]            stored; NoChargingProfile (2.1 value: Kilowatt will
                                       not send one)
GetCertificateChainStatus [M07],       CALLERROR NotSupported: no OCSP access / no dynamic
PullDynamicScheduleUpdate [K28],       schedules / no VAT registry lookup
VatNumberValidation [C17]
=====================================  =====================================================
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar

from kilowatt.handlers.v201 import V201Handler
from kilowatt.ocpp import v21
from kilowatt.ocpp.errors import CallError, ErrorCode
from kilowatt.transport import CallContext, on

__all__ = ["V21Handler"]


class V21Handler(V201Handler):
    """A connected OCPP 2.1 charging station."""

    m: ClassVar[ModuleType] = v21
    charging_needs_answer: ClassVar[str] = "NoChargingProfile"
    """2.1's NotifyEVChargingNeeds status for "Kilowatt will not send a charging profile"."""

    @on("BatterySwap")
    async def battery_swap(self, request: Any) -> Any:
        """BatterySwap (2.1 C24): stored as a station event."""
        return await self._notify(request)

    @on("OpenPeriodicEventStream")
    async def open_periodic_event_stream(self, request: Any) -> Any:
        """OpenPeriodicEventStream (2.1 N08): stored; answered Accepted."""
        # Accepting costs nothing: every NotifyPeriodicEventStream is stored as it arrives.
        await self.record("OpenPeriodicEventStream", request)
        return v21.OpenPeriodicEventStreamResponse(status=v21.GenericStatus.ACCEPTED)

    @on("ClosePeriodicEventStream")
    async def close_periodic_event_stream(self, request: Any) -> Any:
        """ClosePeriodicEventStream (2.1 N08): stored as a station event."""
        return await self._notify(request)

    @on("NotifyPeriodicEventStream")
    async def notify_periodic_event_stream(self, request: Any, context: CallContext) -> None:
        """NotifyPeriodicEventStream (2.1 N08), a SEND frame: stored; no answer."""
        # A SEND (message type 6): there is no answer to return (2.1 Part 4 §4.1.6).
        await self.record("NotifyPeriodicEventStream", request)

    @on("NotifyDERAlarm")
    async def notify_der_alarm(self, request: Any) -> Any:
        """NotifyDERAlarm (2.1 R04-R06): stored as a station event."""
        return await self._notify(request)

    @on("NotifyDERStartStop")
    async def notify_der_start_stop(self, request: Any) -> Any:
        """NotifyDERStartStop (2.1 R04-R06): stored as a station event."""
        return await self._notify(request)

    @on("ReportDERControl")
    async def report_der_control(self, request: Any) -> Any:
        """ReportDERControl (2.1 R04-R06): stored as a station event."""
        return await self._notify(request)

    @on("NotifyPriorityCharging")
    async def notify_priority_charging(self, request: Any) -> Any:
        """NotifyPriorityCharging (2.1 K21): stored as a station event."""
        return await self._notify(request)

    @on("NotifySettlement")
    async def notify_settlement(self, request: Any) -> Any:
        """NotifySettlement (2.1 C18): stored as a station event; no receipt is issued."""
        return await self._notify(request)

    @on("GetCertificateChainStatus")
    async def get_certificate_chain_status(self, request: Any) -> Any:
        """GetCertificateChainStatus (2.1 M07).

        Raises:
            CallError: always NotSupported (no OCSP responder configured).
        """
        raise CallError(ErrorCode.NOT_SUPPORTED, "no OCSP responder configured")

    @on("PullDynamicScheduleUpdate")
    async def pull_dynamic_schedule_update(self, request: Any) -> Any:
        """PullDynamicScheduleUpdate (2.1 K28).

        Raises:
            CallError: always NotSupported (Kilowatt installs no dynamic charging profiles).
        """
        raise CallError(ErrorCode.NOT_SUPPORTED, "Kilowatt installs no dynamic charging profiles")

    @on("VatNumberValidation")
    async def vat_number_validation(self, request: Any) -> Any:
        """VatNumberValidation (2.1 C17).

        Raises:
            CallError: always NotSupported (no VAT number registry configured).
        """
        raise CallError(ErrorCode.NOT_SUPPORTED, "no VAT number registry configured")
