"""CSMS locations, stations and tariffs as OCPI objects (canonical 2.3.0 model).

EVSEs and connectors are derived from stations (OCPI 2.2.1 ``mod_locations`` §EVSE object,
§Connector object):

- EVSE ``uid``: ``<station id>-<evse id>`` (hashed when longer than 36 characters); ``evse_id``
  in eMI3 form ``<CC>*<PID>*E<STATION>*<evse id>`` (station id upper-cased, characters outside
  ``A-Z0-9`` dropped; eMI3 "EVSE ID" v1.0), unless the operator set one.
- Connector ``id``: the OCPP connector id as text. OCPP 1.6 has no EVSE level: each 1.6
  connector is its own EVSE (see :mod:`kilowatt.csms.model`), so its connector is ``"1"``...
  as reported.
- Status from the latest OCPP StatusNotification (:func:`ocpi_status`); a station that is not
  connected is ``UNKNOWN``.
- Standard, format, power type, V/A/W from the operator's connector metadata; until set, the
  placeholders of :data:`DEFAULT_CONNECTOR` (a 32 A three-phase Type 2 socket).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kilowatt.csms.locations import ConnectorMetadata, EvseMetadata, LocationInfo
from kilowatt.csms.model import StationInfo
from kilowatt.csms.tariffs import TariffInfo
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    Capability,
    ConnectorFormat,
    GeoLocation,
    Hours,
    ParkingType,
    PowerType,
    Status,
)

__all__ = [
    "DEFAULT_CAPABILITIES",
    "DEFAULT_CONNECTOR",
    "EvseRef",
    "build_location",
    "build_tariff",
    "emi3_evse_id",
    "evse_uid",
    "ocpi_status",
]

_STATUS: dict[str, Status] = {
    # OCPP 1.6 ChargePointStatus (§7.7)
    "Available": Status.AVAILABLE,
    "Preparing": Status.CHARGING,
    "Charging": Status.CHARGING,
    "SuspendedEV": Status.CHARGING,
    "SuspendedEVSE": Status.CHARGING,
    "Finishing": Status.BLOCKED,
    "Reserved": Status.RESERVED,
    "Unavailable": Status.INOPERATIVE,
    "Faulted": Status.OUTOFORDER,
    # OCPP 2.0.1/2.1 ConnectorStatusEnumType
    "Occupied": Status.CHARGING,
}

_PRIORITY = [
    Status.CHARGING,
    Status.BLOCKED,
    Status.RESERVED,
    Status.AVAILABLE,
    Status.INOPERATIVE,
    Status.OUTOFORDER,
    Status.UNKNOWN,
]
"""Status of an EVSE with several connectors: the first of these any connector has."""

DEFAULT_CONNECTOR: dict[str, Any] = {
    "standard": "IEC_62196_T2",
    "format": ConnectorFormat.SOCKET,
    "power_type": PowerType.AC_3_PHASE,
    "max_voltage": 400,
    "max_amperage": 32,
}
"""Connector data published until the operator sets it (``PATCH .../connectors/{id}``)."""

DEFAULT_CAPABILITIES = [Capability.REMOTE_START_STOP_CAPABLE, Capability.UNLOCK_CAPABLE]
"""EVSE capabilities published until the operator sets them (``PATCH .../evses/{id}``)."""


def ocpi_status(ocpp_status: str | None, *, connected: bool) -> Status:
    """OCPI EVSE status for an OCPP connector status (1.6 or 2.x spelling).

    1.6 Preparing/Charging/Suspended* and 2.x Occupied → CHARGING (the EVSE is in use);
    1.6 Finishing → BLOCKED (an EV still occupies it after the session); Reserved → RESERVED;
    Unavailable → INOPERATIVE; Faulted → OUTOFORDER; not connected or unknown → UNKNOWN.
    """
    if not connected or ocpp_status is None:
        return Status.UNKNOWN
    return _STATUS.get(ocpp_status, Status.UNKNOWN)


def _aggregate(statuses: Iterable[Status]) -> Status:
    present = set(statuses)
    return next((s for s in _PRIORITY if s in present), Status.UNKNOWN)


def evse_uid(station_id: str, evse_id: int) -> str:
    """The OCPI EVSE uid (≤ 36 characters, unique per location) of a station's EVSE."""
    uid = f"{station_id}-{evse_id}"
    if len(uid) <= 36:
        return uid
    digest = hashlib.sha256(station_id.encode()).hexdigest()[:24]
    return f"{digest}-{evse_id}"


def emi3_evse_id(country_code: str, party_id: str, station_id: str, evse_id: int) -> str:
    """eMI3 EVSE ID ``CC*PID*E<station>*<evse>`` (upper case, ``A-Z0-9`` only in the parts)."""
    station = re.sub(r"[^A-Z0-9]", "", station_id.upper())[:24] or "0"
    return f"{country_code.upper()}*{party_id.upper()}*E{station}*{evse_id}"


@dataclass(frozen=True, slots=True)
class EvseRef:
    """Where an OCPI EVSE lives in the CSMS."""

    location_id: str
    station_id: str
    evse_id: int
    uid: str
    status: Status
    connector_ids: tuple[int, ...]
    ocpp_version: str | None
    connected: bool


def _latest(*values: datetime | None) -> datetime:
    return max(v for v in values if v is not None)


def build_location(
    location: LocationInfo,
    stations: Sequence[StationInfo],
    evse_meta: Sequence[EvseMetadata],
    connector_meta: Sequence[ConnectorMetadata],
    *,
    tariff_id: str | None,
    country_code: str,
    party_id: str,
) -> tuple[v230.Location, list[EvseRef]]:
    """The OCPI Location of ``location`` with EVSEs derived from its ``stations``.

    ``tariff_id`` (the tariff that applies here) goes in every connector's ``tariff_ids``.
    Returns the Location and, per EVSE, a :class:`EvseRef` to find it again.
    """
    evse_by_key = {(m.station_id, m.evse_id): m for m in evse_meta}
    conn_by_key = {(m.station_id, m.evse_id, m.connector_id): m for m in connector_meta}
    evses: list[v230.EVSE] = []
    refs: list[EvseRef] = []
    stamps: list[datetime] = [location.updated_at]
    for station in sorted(stations, key=lambda s: s.id):
        reported = {e.evse_id: e for e in station.evses if e.evse_id > 0}
        declared = {m.evse_id for m in evse_meta if m.station_id == station.id}
        declared |= {m.evse_id for m in connector_meta if m.station_id == station.id}
        for number in sorted(set(reported) | declared):
            evse, ref = _evse(
                station,
                number,
                reported.get(number),
                evse_by_key.get((station.id, number)),
                conn_by_key,
                tariff_id,
                country_code,
                party_id,
                location.id,
            )
            evses.append(evse)
            refs.append(ref)
            stamps.append(evse.last_updated)
    hours = Hours.model_validate(location.opening_times) if location.opening_times else None
    result = v230.Location(
        country_code=country_code,
        party_id=party_id,
        id=location.id,
        publish=location.publish,
        name=location.name,
        address=location.address,
        city=location.city,
        postal_code=location.postal_code,
        state=location.state,
        country=location.country,
        coordinates=GeoLocation(latitude=location.latitude, longitude=location.longitude),
        parking_type=ParkingType(location.parking_type) if location.parking_type else None,
        evses=evses or None,
        facilities=location.facilities or None,
        time_zone=location.time_zone,
        opening_times=hours,
        charging_when_closed=location.charging_when_closed,
        help_phone=location.help_phone,
        last_updated=max(stamps),
    )
    return result, refs


def _evse(
    station: StationInfo,
    number: int,
    reported: Any,
    meta: EvseMetadata | None,
    conn_by_key: dict[tuple[str, int, int], ConnectorMetadata],
    tariff_id: str | None,
    country_code: str,
    party_id: str,
    location_id: str,
) -> tuple[v230.EVSE, EvseRef]:
    status_by_connector: dict[int, tuple[str | None, datetime | None]] = {}
    if reported is not None:
        for c in reported.connectors:
            status_by_connector[c.connector_id] = (c.status, c.status_at)
    for key in conn_by_key:
        if key[0] == station.id and key[1] == number:
            status_by_connector.setdefault(key[2], (None, None))
    if not status_by_connector:
        status_by_connector[1] = (None, None)
    connectors = []
    statuses = []
    stamps: list[datetime | None] = [station.updated_at, meta.updated_at if meta else None]
    for connector_id in sorted(status_by_connector):
        ocpp_status, status_at = status_by_connector[connector_id]
        statuses.append(ocpi_status(ocpp_status, connected=station.connected))
        cmeta = conn_by_key.get((station.id, number, connector_id))
        values: dict[str, Any] = dict(DEFAULT_CONNECTOR)
        if cmeta is not None:
            for name in (
                "standard",
                "format",
                "power_type",
                "max_voltage",
                "max_amperage",
                "max_electric_power",
                "capabilities",
            ):
                value = getattr(cmeta, name)
                if value is not None:
                    values[name] = value
        updated = _latest(station.updated_at, status_at, cmeta.updated_at if cmeta else None)
        stamps.append(updated)
        connectors.append(
            v230.Connector(
                id=str(connector_id),
                tariff_ids=[tariff_id] if tariff_id else None,
                last_updated=updated,
                **values,
            )
        )
    uid = evse_uid(station.id, number)
    status = _aggregate(statuses)
    capabilities = (
        [Capability(c) for c in meta.capabilities]
        if meta is not None and meta.capabilities is not None
        else list(DEFAULT_CAPABILITIES)
    )
    evse = v230.EVSE(
        uid=uid,
        evse_id=(meta.evse_code if meta and meta.evse_code else None)
        or emi3_evse_id(country_code, party_id, station.id, number),
        status=status,
        capabilities=capabilities or None,
        connectors=connectors,
        floor_level=meta.floor_level if meta else None,
        physical_reference=meta.physical_reference if meta else None,
        last_updated=_latest(*stamps),
    )
    ref = EvseRef(
        location_id=location_id,
        station_id=station.id,
        evse_id=number,
        uid=uid,
        status=status,
        connector_ids=tuple(sorted(status_by_connector)),
        ocpp_version=station.ocpp_version,
        connected=station.connected,
    )
    return evse, ref


def build_tariff(tariff: TariffInfo, *, country_code: str, party_id: str) -> v230.Tariff:
    """The OCPI Tariff (2.3.0 model) of a stored tariff."""
    data: dict[str, Any] = {
        "country_code": country_code,
        "party_id": party_id,
        "id": tariff.id,
        "currency": tariff.currency,
        "type": tariff.type,
        "tariff_alt_text": tariff.alt_text,
        "tariff_alt_url": tariff.alt_url,
        "min_price": tariff.min_price,
        "max_price": tariff.max_price,
        "elements": tariff.elements,
        "tax_included": tariff.tax_included,
        "start_date_time": tariff.start_date_time,
        "end_date_time": tariff.end_date_time,
        "last_updated": tariff.updated_at,
    }
    return v230.Tariff.model_validate({k: v for k, v in data.items() if v is not None})
