"""Reservations of one simulated station (OCPP 1.6 §5.13/§5.2, OCPP 2.0.1 Part 2 H01–H04)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Reservation", "ReservationStore"]


@dataclass(slots=True)
class Reservation:
    """A reservation of an EVSE (2.x) or connector (1.6) for ``id_token`` until ``expiry``
    (a POSIX timestamp in s, simulated clock). ``evse_id`` 0 reserves any EVSE (1.6 connector 0)."""

    id: int
    evse_id: int
    id_token: str
    expiry: float
    group_id_token: str | None = None


class ReservationStore:
    """Active reservations by id; at most one per EVSE."""

    def __init__(self) -> None:
        self._by_id: dict[int, Reservation] = {}

    def add(self, reservation: Reservation) -> None:
        """Add or replace (same id: the spec says the new one replaces the old one)."""
        self._by_id[reservation.id] = reservation

    def cancel(self, reservation_id: int) -> Reservation | None:
        """Remove and return the reservation, or None when it does not exist."""
        return self._by_id.pop(reservation_id, None)

    def for_evse(self, evse_id: int) -> Reservation | None:
        """The reservation holding ``evse_id``, if any."""
        for reservation in self._by_id.values():
            if reservation.evse_id == evse_id:
                return reservation
        return None

    def get(self, reservation_id: int) -> Reservation | None:
        """The reservation with this id, if any."""
        return self._by_id.get(reservation_id)

    def expire(self, now: float) -> list[Reservation]:
        """Remove and return the reservations whose expiry is at or before ``now`` (s)."""
        gone = [r for r in self._by_id.values() if r.expiry <= now]
        for reservation in gone:
            del self._by_id[reservation.id]
        return gone

    def matches(self, evse_id: int, id_token: str) -> bool:
        """True when ``id_token`` may use ``evse_id``: no reservation, or it is the holder's."""
        reservation = self.for_evse(evse_id)
        return reservation is None or id_token in (
            reservation.id_token,
            reservation.group_id_token,
        )

    def __len__(self) -> int:
        return len(self._by_id)
