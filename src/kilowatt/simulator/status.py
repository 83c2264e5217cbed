"""Connector status machines of OCPP 1.6 and 2.x, as data.

OCPP 1.6 (§4.9 StatusNotification, "Status transitions" table) has nine ChargePointStatus
values; a connector may only move along the transitions the table lists (e.g. Available may not
jump to Finishing, Finishing may not go back to Charging). OCPP 2.0.1 / 2.1 (Part 2, G01
StatusNotification; Part 2 §2.x "Connector status") reduces the connector status to five values
and moves the session detail into the transaction's ``chargingState``.

The simulator keeps one status per connector for each version and refuses an illegal move with
:class:`IllegalTransition`, so a bug in the scripted behaviour never produces a message sequence
that a real charger could not send.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "TRANSITIONS_2X",
    "TRANSITIONS_16",
    "ChargePointStatus",
    "ChargingState",
    "ConnectorStatus",
    "IllegalTransition",
    "StatusMachine2x",
    "StatusMachine16",
    "charging_state",
    "to_2x",
]


class ChargePointStatus(StrEnum):
    """OCPP 1.6 ChargePointStatus (§7.7)."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class ConnectorStatus(StrEnum):
    """OCPP 2.0.1 / 2.1 ConnectorStatusEnumType (Part 2 §3 datatypes)."""

    AVAILABLE = "Available"
    OCCUPIED = "Occupied"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class ChargingState(StrEnum):
    """OCPP 2.0.1 / 2.1 ChargingStateEnumType: the state of a transaction's energy transfer."""

    CHARGING = "Charging"
    EV_CONNECTED = "EVConnected"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    IDLE = "Idle"


_S = ChargePointStatus
# Rows and columns of the OCPP 1.6 §4.9 table; every pair not listed is illegal.
TRANSITIONS_16: dict[ChargePointStatus, frozenset[ChargePointStatus]] = {
    _S.AVAILABLE: frozenset(
        {
            _S.PREPARING,
            _S.CHARGING,
            _S.SUSPENDED_EV,
            _S.SUSPENDED_EVSE,
            _S.RESERVED,
            _S.UNAVAILABLE,
            _S.FAULTED,
        }
    ),
    _S.PREPARING: frozenset(
        {_S.AVAILABLE, _S.CHARGING, _S.SUSPENDED_EV, _S.SUSPENDED_EVSE, _S.FINISHING, _S.FAULTED}
    ),
    _S.CHARGING: frozenset(
        {_S.AVAILABLE, _S.SUSPENDED_EV, _S.SUSPENDED_EVSE, _S.FINISHING, _S.UNAVAILABLE, _S.FAULTED}
    ),
    _S.SUSPENDED_EV: frozenset(
        {_S.AVAILABLE, _S.CHARGING, _S.SUSPENDED_EVSE, _S.FINISHING, _S.UNAVAILABLE, _S.FAULTED}
    ),
    _S.SUSPENDED_EVSE: frozenset(
        {_S.AVAILABLE, _S.CHARGING, _S.SUSPENDED_EV, _S.FINISHING, _S.UNAVAILABLE, _S.FAULTED}
    ),
    _S.FINISHING: frozenset({_S.AVAILABLE, _S.PREPARING, _S.UNAVAILABLE, _S.FAULTED}),
    _S.RESERVED: frozenset({_S.AVAILABLE, _S.PREPARING, _S.UNAVAILABLE, _S.FAULTED}),
    _S.UNAVAILABLE: frozenset(
        {_S.AVAILABLE, _S.PREPARING, _S.CHARGING, _S.SUSPENDED_EV, _S.SUSPENDED_EVSE, _S.FAULTED}
    ),
    _S.FAULTED: frozenset(set(_S) - {_S.FAULTED}),
}

_C = ConnectorStatus
# 2.x has no normative table; these are the moves the G01/G03/G04 use cases and the
# reservation (H) and availability (G03/G04) use cases describe. Occupied -> Reserved is absent:
# a reservation only takes effect on a free connector.
TRANSITIONS_2X: dict[ConnectorStatus, frozenset[ConnectorStatus]] = {
    _C.AVAILABLE: frozenset({_C.OCCUPIED, _C.RESERVED, _C.UNAVAILABLE, _C.FAULTED}),
    _C.OCCUPIED: frozenset({_C.AVAILABLE, _C.UNAVAILABLE, _C.FAULTED}),
    _C.RESERVED: frozenset({_C.AVAILABLE, _C.OCCUPIED, _C.UNAVAILABLE, _C.FAULTED}),
    _C.UNAVAILABLE: frozenset({_C.AVAILABLE, _C.OCCUPIED, _C.FAULTED}),
    _C.FAULTED: frozenset({_C.AVAILABLE, _C.OCCUPIED, _C.RESERVED, _C.UNAVAILABLE}),
}


class IllegalTransition(ValueError):
    """A status change that the version's state machine does not allow."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"illegal connector status transition {current} -> {target}")
        self.current = current
        self.target = target


class StatusMachine16:
    """The OCPP 1.6 status of one connector.

    ``move(target)`` returns True when the status changed (the caller then sends a
    StatusNotification), False when the connector already had that status.
    """

    __slots__ = ("status",)

    def __init__(self, status: ChargePointStatus = ChargePointStatus.AVAILABLE) -> None:
        self.status = status

    def can_move(self, target: ChargePointStatus) -> bool:
        """True when ``target`` is the current status or a legal next status."""
        return target is self.status or target in TRANSITIONS_16[self.status]

    def move(self, target: ChargePointStatus) -> bool:
        """Change to ``target``.

        Raises:
            IllegalTransition: the §4.9 table does not allow the move.
        """
        if target is self.status:
            return False
        if target not in TRANSITIONS_16[self.status]:
            raise IllegalTransition(self.status, target)
        self.status = target
        return True


class StatusMachine2x:
    """The OCPP 2.x status of one connector (``move`` as in :class:`StatusMachine16`)."""

    __slots__ = ("status",)

    def __init__(self, status: ConnectorStatus = ConnectorStatus.AVAILABLE) -> None:
        self.status = status

    def can_move(self, target: ConnectorStatus) -> bool:
        """True when ``target`` is the current status or a legal next status."""
        return target is self.status or target in TRANSITIONS_2X[self.status]

    def move(self, target: ConnectorStatus) -> bool:
        """Change to ``target``.

        Raises:
            IllegalTransition: the move is not one the 2.x use cases describe.
        """
        if target is self.status:
            return False
        if target not in TRANSITIONS_2X[self.status]:
            raise IllegalTransition(self.status, target)
        self.status = target
        return True


_TO_2X: dict[ChargePointStatus, ConnectorStatus] = {
    _S.AVAILABLE: _C.AVAILABLE,
    _S.PREPARING: _C.OCCUPIED,
    _S.CHARGING: _C.OCCUPIED,
    _S.SUSPENDED_EV: _C.OCCUPIED,
    _S.SUSPENDED_EVSE: _C.OCCUPIED,
    _S.FINISHING: _C.OCCUPIED,
    _S.RESERVED: _C.RESERVED,
    _S.UNAVAILABLE: _C.UNAVAILABLE,
    _S.FAULTED: _C.FAULTED,
}


def to_2x(status: ChargePointStatus) -> ConnectorStatus:
    """Map a detailed (1.6-style) status to the 2.x connector status.

    The simulator drives every connector with the detailed 1.6 states (they carry the most
    information) and derives the 2.x connector status from them: the five 1.6 "occupied"
    states all become Occupied (OCPP 2.0.1 Part 2 G01, and the 1.6 → 2.0 migration notes).
    """
    return _TO_2X[status]


_TO_CHARGING_STATE: dict[ChargePointStatus, ChargingState] = {
    _S.PREPARING: ChargingState.EV_CONNECTED,
    _S.CHARGING: ChargingState.CHARGING,
    _S.SUSPENDED_EV: ChargingState.SUSPENDED_EV,
    _S.SUSPENDED_EVSE: ChargingState.SUSPENDED_EVSE,
    _S.FINISHING: ChargingState.EV_CONNECTED,
}


def charging_state(status: ChargePointStatus) -> ChargingState:
    """The 2.x ``chargingState`` of a transaction on a connector in the 1.6-style ``status``."""
    return _TO_CHARGING_STATE.get(status, ChargingState.IDLE)
