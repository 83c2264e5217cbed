"""Station registration, connection, boot, heartbeat, status, device model and notifications."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal

from kilowatt.csms.clock import utcnow
from kilowatt.csms.errors import AlreadyExists, NotFound, ValidationError
from kilowatt.csms.events import (
    EventBus,
    StationBooted,
    StationConnected,
    StationDeleted,
    StationDisconnected,
    StationEventRecorded,
    StationRegistered,
    StatusChanged,
)
from kilowatt.csms.identity import check_identity
from kilowatt.csms.journal import JournalService, truncate_frame
from kilowatt.csms.locations import LocationChanged
from kilowatt.csms.model import (
    BootInfo,
    BootResult,
    ConfigurationEntry,
    ConnectDecision,
    ConnectorInfo,
    EvseInfo,
    Page,
    RegistrationStatus,
    StationEventInfo,
    StationInfo,
    StatusReport,
    VariableReport,
    from_row,
)
from kilowatt.csms.passwords import hash_password, validate_password, verify_password
from kilowatt.csms.repositories import Repositories, Row
from kilowatt.csms.secrets import mask_json, mask_setting
from kilowatt.logs import RateLimit

__all__ = [
    "INVALID_IDENTITY_PAGE",
    "MAX_EVENT_DATA_BYTES",
    "UNSET",
    "StationService",
    "effective_profile",
]

log = logging.getLogger(__name__)


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks a PATCH field as "leave unchanged" where None is a valid new value."""

MAX_EVENT_DATA_BYTES: Final = 64 * 1024
"""Largest station event payload stored and published whole, in bytes of UTF-8 JSON (the
journal's default frame cap); a larger one is stored as its truncation placeholder."""

INVALID_IDENTITY_PAGE: Final = 1000
"""Stations read per query when looking for identities that break the rule."""


def effective_profile(security_profile: int, has_password: bool) -> int:
    """The security profile the handshake enforces for a stored station.

    A station with a password is never let in without it: a row with a password and profile 0
    (possible in databases written before this rule) counts as profile 1.

    Args:
        security_profile: the stored profile, 0 to 3.
        has_password: whether a password hash is stored.

    Returns:
        ``security_profile``, raised to 1 when it is 0 and a password is stored.
    """
    return 1 if security_profile == 0 and has_password else security_profile


def _station(row: Mapping[Any, Any], evses: tuple[EvseInfo, ...] = ()) -> StationInfo:
    has_password = row["password_hash"] is not None
    # What the API shows is what the handshake enforces (a legacy profile-0 row with a
    # password reads as profile 1), so an operator never believes in a check that is not made.
    profile = effective_profile(row["security_profile"], has_password)
    return from_row(
        StationInfo, row, has_password=has_password, security_profile=profile, evses=evses
    )


class StationService:
    """Everything about stations that does not depend on the OCPP version."""

    def __init__(
        self,
        repositories: Repositories,
        bus: EventBus,
        *,
        registration: Literal["open", "known"] = "open",
        boot_status: RegistrationStatus | str = RegistrationStatus.ACCEPTED,
        heartbeat_interval: int = 300,
        clock: Callable[[], datetime] = utcnow,
        journal: JournalService | None = None,
    ) -> None:
        """Create the service over the station repository.

        Args:
            repositories: where stations live (:attr:`Repositories.stations`).
            bus: where domain events are published (after commit).
            registration: ``open`` creates unknown stations on connect; ``known`` refuses them.
            boot_status: BootNotification answer for every station.
            heartbeat_interval: interval in s returned with the boot answer.
            clock: returns the current aware UTC time (injected for tests).
            journal: when given, deleting a station also deletes its journal frames.
        """
        self._stations = repositories.stations
        self._bus = bus
        # Deleting a station deletes its journal frames, including those still buffered.
        self._journal = journal
        self.registration = registration
        self.boot_status = RegistrationStatus(boot_status)
        self.heartbeat_interval = heartbeat_interval
        self._clock = clock
        # Not one line per station in a boot storm: at most 20 per 10 s.
        self._created_log = RateLimit(burst=20, interval=10.0)

    # --- connection lifecycle -------------------------------------------------------------------

    async def check_connection(
        self,
        station_id: str,
        password: str | None,
        *,
        tls: bool,
        client_cert_cn: str | None = None,
    ) -> ConnectDecision:
        """Decide the WebSocket handshake of ``station_id`` (call before the upgrade).

        Unknown identity: ACCEPT under open registration, UNKNOWN (HTTP 404) under ``known``.
        Known identity: profile 0 without a password ACCEPT; 1 needs the right password; 2
        also needs TLS; 3 needs TLS and a client certificate whose CN is the identity. A
        profile-0 row that has a password (older databases) is checked as profile 1
        (:func:`effective_profile`). Connecting with a lower profile than the stored one is a
        downgrade and gets UNAUTHORIZED (HTTP 401).

        Args:
            station_id: the identity from the connection URL.
            password: the HTTP Basic password (user = identity), None when absent.
            tls: whether the connection is wss:// (profiles 2 and 3 require it).
            client_cert_cn: CN of a verified client certificate (profile 3), if any.
        """
        row = await self._stations.get(station_id)
        if row is None:
            return (
                ConnectDecision.ACCEPT if self.registration == "open" else ConnectDecision.UNKNOWN
            )
        stored = row["password_hash"]
        profile = effective_profile(row["security_profile"], stored is not None)
        if profile >= 2 and not tls:
            return ConnectDecision.UNAUTHORIZED
        if profile == 3:
            ok = client_cert_cn == station_id
            return ConnectDecision.ACCEPT if ok else ConnectDecision.UNAUTHORIZED
        if profile in (1, 2):
            if password is None or stored is None:
                return ConnectDecision.UNAUTHORIZED
            # scrypt is CPU-bound (tens of ms): keep the event loop free for other stations.
            if not await asyncio.to_thread(verify_password, password, stored):
                return ConnectDecision.UNAUTHORIZED
        return ConnectDecision.ACCEPT

    async def connected(self, station_id: str, ocpp_version: str) -> StationInfo:
        """Record an accepted connection; creates the station under open registration.

        Raises:
            NotFound: unknown identity and registration ``known``.
            ValidationError: the identity breaks :func:`~kilowatt.csms.identity.check_identity`
                and registration is ``open`` (no row is created for it).
        """
        now = self._clock()
        allow_create = self.registration == "open"
        if allow_create:
            _check_identity(station_id)

        values = {"connected": True, "ocpp_version": ocpp_version, "last_seen": now}
        # A new station is inserted connected: no UPDATE after the INSERT.
        create = _new_station(station_id, now, **values) if allow_create else None
        row, created = await self._stations.record_connect(
            station_id, {**values, "updated_at": now}, create=create
        )
        if row is None:
            raise NotFound(f"station {station_id!r} is not registered")
        if created:
            if (dropped := self._created_log.allow()) is not None:
                log.warning(
                    "open registration: created station %s on first connect%s",
                    station_id,
                    f" ({dropped} more created, not logged)" if dropped else "",
                )
            self._bus.publish(StationRegistered(station_id=station_id, at=now))
        self._bus.publish(
            StationConnected(
                station_id=station_id, at=now, ocpp_version=ocpp_version, created=created
            )
        )
        return _station(row)

    async def disconnected(self, station_id: str) -> None:
        """Record that the station's connection closed."""
        now = self._clock()
        values = {"connected": False, "last_seen": now, "updated_at": now}
        await self._stations.update(station_id, values)
        self._bus.publish(StationDisconnected(station_id=station_id, at=now))

    async def mark_all_disconnected(self) -> int:
        """At start of a single node: no station can still be connected. Returns how many."""
        return await self._stations.mark_all_disconnected()

    # --- station-initiated messages ---------------------------------------------------------------

    async def boot(self, station_id: str, info: BootInfo) -> BootResult:
        """Record a BootNotification; answer the configured status and heartbeat interval."""
        now = self._clock()
        status = self.boot_status
        values: dict[str, Any] = {
            "vendor": info.vendor,
            "model": info.model,
            "serial_number": info.serial_number,
            "firmware_version": info.firmware_version,
            "boot_status": status.value,
            "last_boot": now,
            "last_seen": now,
            "updated_at": now,
        }
        data = {"reason": info.reason, **info.details} if (info.reason or info.details) else None

        event = {"at": now, "kind": "Boot", "data": data} if data is not None else None
        await self._stations.record_boot(station_id, values, event)
        self._bus.publish(
            StationBooted(
                station_id=station_id,
                at=now,
                status=status.value,
                vendor=info.vendor,
                model=info.model,
                firmware_version=info.firmware_version,
            )
        )
        return BootResult(status=status, interval=self.heartbeat_interval, current_time=now)

    async def heartbeat(self, station_id: str) -> datetime:
        """Record a Heartbeat (last_seen); return the CSMS current time (UTC).

        Returns without waiting for the COMMIT of ``last_seen``: a Heartbeat carries no data a
        station would send again (OCPP 1.6 §4.6, 2.0.1 G02: it only keeps the connection
        known to be alive and asks for the time), so it is not part of the durable
        acknowledgement. The write joins the next group commit; a crash before it loses at
        most this ``last_seen``, which the station's next message sets again. Reads through
        this service (:meth:`get`, :meth:`list`) wait for pending ``last_seen`` writes.
        Heartbeats are a third of a charging station's calls; not holding each one for a
        COMMIT is the largest single latency saving of the benchmark mix.
        """
        now = self._clock()
        self._stations.touch(station_id, now)
        return now

    async def status_notification(self, station_id: str, report: StatusReport) -> None:
        """Store the latest status of an EVSE/connector (1.6: see :mod:`kilowatt.csms.model`)."""
        now = self._clock()
        values = {
            "status": report.status,
            "error_code": report.error_code,
            "info": report.info,
            "vendor_error_code": report.vendor_error_code,
            "status_at": report.timestamp or now,
        }

        # Queued before the status write, so committed in the same group or an earlier one.
        seen = self._stations.touch(station_id, now)
        await self._stations.set_connector_status(
            station_id, report.evse_id, report.connector_id, values, now
        )
        await seen
        self._bus.publish(
            StatusChanged(
                station_id=station_id,
                at=now,
                evse_id=report.evse_id,
                connector_id=report.connector_id,
                status=report.status,
                error_code=report.error_code,
            )
        )

    async def store_variables(self, station_id: str, reports: Sequence[VariableReport]) -> None:
        """Insert or replace device-model variable attributes (NotifyReport, GetVariables)."""
        now = self._clock()
        rows = [
            {
                "station_id": station_id,
                "component": r.component,
                "component_instance": r.component_instance or "",
                "evse_id": r.evse_id or 0,
                "connector_id": r.connector_id or 0,
                "variable": r.variable,
                "variable_instance": r.variable_instance or "",
                "attribute_type": r.attribute_type,
                # A reported or newly set BasicAuthPassword is never kept (see csms.secrets).
                "value": mask_setting(r.variable, r.value),
                "mutability": r.mutability,
                "data_type": r.data_type,
                "unit": r.unit,
                "updated_at": now,
            }
            for r in reports
        ]
        # One statement per chunk keeps within SQLite's bound-parameter limit (32766).
        for start in range(0, len(rows), 500):
            await self._stations.put_variables(rows[start : start + 500])

    async def variables(
        self, station_id: str, *, component: str | None = None
    ) -> list[VariableReport]:
        """The stored device model of a station (optionally one component)."""
        rows = await self._stations.variables(station_id, component=component)
        return [
            VariableReport(
                component=r["component"],
                variable=r["variable"],
                attribute_type=r["attribute_type"],
                value=r["value"],
                component_instance=r["component_instance"] or None,
                variable_instance=r["variable_instance"] or None,
                evse_id=r["evse_id"] or None,
                connector_id=r["connector_id"] or None,
                mutability=r["mutability"],
                data_type=r["data_type"],
                unit=r["unit"],
            )
            for r in rows
        ]

    async def store_configuration(
        self, station_id: str, entries: Sequence[ConfigurationEntry]
    ) -> None:
        """Insert or replace 1.6 configuration keys (GetConfiguration answers, changes)."""
        now = self._clock()
        rows = [
            {
                "key": e.key,
                "value": mask_setting(e.key, e.value),  # AuthorizationKey: see csms.secrets
                "readonly": e.readonly,
                "updated_at": now,
            }
            for e in entries
        ]
        await self._stations.put_configuration(station_id, rows)

    async def configuration(self, station_id: str) -> list[ConfigurationEntry]:
        """The stored 1.6 configuration keys of a station, by key."""
        rows = await self._stations.configuration(station_id)
        return [ConfigurationEntry(r["key"], r["value"], r["readonly"]) for r in rows]

    async def record_event(
        self,
        station_id: str,
        kind: str,
        data: Mapping[str, Any],
        *,
        at: datetime | None = None,
    ) -> StationEventInfo:
        """Store a notification and publish :class:`StationEventRecorded`.

        ``kind`` is the OCPP action name, e.g. ``SecurityEventNotification``,
        ``FirmwareStatusNotification``, ``NotifyEvent``, ``DataTransfer``; ``data`` is its
        payload as JSON, stored and published with its secrets masked
        (:func:`kilowatt.csms.secrets.mask_json`); a payload above
        :data:`MAX_EVENT_DATA_BYTES` (UTF-8 JSON) is replaced by the placeholder
        ``{"truncated": true, "size", "sha256", "head"}`` of
        :func:`~kilowatt.csms.journal.truncate_frame`. ``at`` defaults to now (CSMS time).
        """
        when = at or self._clock()
        # Masked before it is stored and published: SSE, webhooks and OCPI see the same data.
        data = mask_json(data)
        # Bounded like a journal frame: a station's 4 MiB DataTransfer must not add 4 MiB to
        # the database and to every SSE client and webhook (issue 12 item 1).
        encoded = json.dumps(data, ensure_ascii=False)
        if len(encoded) * 4 > MAX_EVENT_DATA_BYTES:
            data = json.loads(truncate_frame(encoded, MAX_EVENT_DATA_BYTES))
        values = {"station_id": station_id, "at": when, "kind": kind, "data": dict(data)}
        event_id = await self._stations.add_event(values)
        info = StationEventInfo(event_id, station_id, when, kind, dict(data))
        self._bus.publish(
            StationEventRecorded(
                station_id=station_id, at=when, event_id=event_id, kind=kind, data=info.data
            )
        )
        return info

    async def events(
        self, station_id: str, *, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page[StationEventInfo]:
        """Stored notifications of a station, newest first."""
        rows, total = await self._stations.events(station_id, kind=kind, limit=limit, offset=offset)
        return Page([from_row(StationEventInfo, r) for r in rows], total)

    # --- operator management ----------------------------------------------------------------------

    async def register(
        self,
        station_id: str,
        *,
        security_profile: int | None = None,
        password: str | None = None,
        location_id: str | None = None,
    ) -> StationInfo:
        """Register an identity (operator). Profiles 1 and 2 need a 16–40 character password.

        The rule for a password without a profile (the same in the API, the CLI and
        :meth:`update`): no profile given and a password → profile 1; no profile and no
        password → profile 0; profile 0 *and* a password → refused, because profile 0 means
        the station connects without authentication and the password would never be checked.

        Args:
            station_id: the identity (:func:`~kilowatt.csms.identity.check_identity`).
            security_profile: 0 to 3, or None to derive it from ``password``.
            password: the Basic-auth password (16–40 characters), profiles 1 and 2.
            location_id: the location the station belongs to, if any.

        Raises:
            AlreadyExists: the identity is registered.
            ValidationError: bad identity, profile or password, or profile 0 with a password.
        """
        _check_identity(station_id)
        if security_profile is None:
            security_profile = 0 if password is None else 1
        password_hash = await _checked_hash(security_profile, password)
        now = self._clock()
        values = _new_station(station_id, now)
        values.update(
            security_profile=security_profile,
            password_hash=password_hash,
            location_id=location_id,
        )

        row = await self._stations.insert(values)
        if row is None:
            raise AlreadyExists(f"station {station_id!r} already exists")
        self._bus.publish(StationRegistered(station_id=station_id, at=now))
        self._moved(station_id, None, location_id, now)
        return _station(row)

    def _moved(self, station_id: str, old: str | None, new: str | None, at: datetime) -> None:
        """Announce a change of location to both locations (OCPI pushes them)."""
        if old == new:
            return
        for location_id in (old, new):
            if location_id is not None:
                self._bus.publish(
                    LocationChanged(station_id=station_id, at=at, location_id=location_id)
                )

    async def update(
        self,
        station_id: str,
        *,
        security_profile: int | None = None,
        password: str | None = None,
        location_id: str | _Unset | None = UNSET,
    ) -> StationInfo:
        """Change security settings or location. None/UNSET fields stay unchanged.

        Raising the profile to 1/2 needs a password (given now or stored before). The rule of
        :meth:`register` holds: a password given without a profile on a profile-0 station
        makes it profile 1; profile 0 together with a password is refused; an explicit
        profile 0 alone removes the stored password (the operator turns authentication
        off, visibly: ``has_password`` becomes false). A change of location publishes
        :class:`~kilowatt.csms.locations.LocationChanged` for the old and the new location
        (after the write).

        Raises:
            NotFound, ValidationError.
        """
        current = await self.get(station_id)
        values: dict[str, Any] = {"updated_at": self._clock()}
        profile = current.security_profile if security_profile is None else security_profile
        if security_profile is None and password is not None and profile == 0:
            profile = 1
            values["security_profile"] = 1
        if security_profile is not None:
            values["security_profile"] = security_profile
        if password is not None:
            values["password_hash"] = await _checked_hash(profile, password)
        elif profile in (1, 2) and not current.has_password:
            raise ValidationError(f"security profile {profile} needs a password")
        elif profile == 0 and current.has_password:
            values["password_hash"] = None
        if profile not in (0, 1, 2, 3):
            raise ValidationError("security_profile must be 0, 1, 2 or 3")
        if location_id is not UNSET:
            values["location_id"] = location_id
        await self._stations.update(station_id, values)
        if location_id is not UNSET and location_id != current.location_id:
            self._moved(station_id, current.location_id, location_id, values["updated_at"])
        return await self.get(station_id)

    async def delete(self, station_id: str) -> None:
        """Delete a station and all its data (transactions, meter values, journal...).

        Raises:
            NotFound.
        """
        if not await self._stations.delete(station_id):
            raise NotFound(f"station {station_id!r} not found")
        if self._journal is not None:
            await self._journal.forget(station_id)
        self._bus.publish(StationDeleted(station_id=station_id, at=self._clock()))

    async def get(self, station_id: str) -> StationInfo:
        """A station with its EVSEs and connectors.

        Raises:
            NotFound.
        """
        await self._stations.touched()
        row = await self._stations.get(station_id)
        if row is None:
            raise NotFound(f"station {station_id!r} not found")
        rows = await self._stations.connectors([station_id])
        return _station(row, _group_evses(rows))

    async def invalid_identities(self) -> list[tuple[str, str]]:
        """Stations whose identity breaks :func:`~kilowatt.csms.identity.check_identity`.

        Such rows were created before the rule existed (e.g. ``a/b``, ``CP:1``, ``..``, a
        newline): the API cannot address them, so the CLI lists and removes them
        (``kilowatt stations invalid [--delete]``) and the node warns at start. Reads every
        station, :data:`INVALID_IDENTITY_PAGE` at a time.

        Returns:
            ``(identity, reason)`` pairs, by identity.
        """
        found: list[tuple[str, str]] = []
        offset = 0
        while True:
            rows, _ = await self._stations.page(limit=INVALID_IDENTITY_PAGE, offset=offset)
            for row in rows:
                if (reason := check_identity(row["id"])) is not None:
                    found.append((row["id"], reason))
            if len(rows) < INVALID_IDENTITY_PAGE:
                return found
            offset += len(rows)

    async def exists(self, station_id: str) -> bool:
        """Whether the identity is registered."""
        return await self._stations.get(station_id) is not None

    async def list(
        self, *, limit: int = 50, offset: int = 0, connected: bool | None = None
    ) -> Page[StationInfo]:
        """Stations by identity, each with its EVSEs and connectors."""
        await self._stations.touched()
        rows, total = await self._stations.page(limit=limit, offset=offset, connected=connected)
        connector_rows = await self._stations.connectors([r["id"] for r in rows])
        by_station: dict[str, list[Row]] = {}
        for r in connector_rows:
            by_station.setdefault(r["station_id"], []).append(r)
        items = [_station(r, _group_evses(by_station.get(r["id"], []))) for r in rows]
        return Page(items, total)


def _new_station(station_id: str, now: datetime, **values: Any) -> dict[str, Any]:
    return {
        "id": station_id,
        "connected": False,
        "security_profile": 0,
        "created_at": now,
        "updated_at": now,
        **values,
    }


def _check_identity(station_id: str) -> None:
    # The one identity rule (kilowatt.csms.identity): ≤ 48 URL-safe characters, no ':'.
    problem = check_identity(station_id)
    if problem is not None:
        raise ValidationError(problem)


async def _checked_hash(profile: int, password: str | None) -> str | None:
    if profile not in (0, 1, 2, 3):
        raise ValidationError("security_profile must be 0, 1, 2 or 3")
    if password is None:
        if profile in (1, 2):
            raise ValidationError(f"security profile {profile} needs a password")
        return None
    if profile == 0:
        # A password the handshake would never ask for is a silent downgrade: refuse it.
        raise ValidationError(
            "a password needs security profile 1 or 2 (profile 0 connects without "
            "authentication): give profile 1 or 2, or leave the profile out to get 1"
        )
    try:
        validate_password(password)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return await asyncio.to_thread(hash_password, password)


def _group_evses(rows: Sequence[Row]) -> tuple[EvseInfo, ...]:
    grouped: dict[int, list[ConnectorInfo]] = {}
    for r in rows:
        connectors = grouped.setdefault(r["evse_id"], [])
        if r["connector_id"] is not None:
            connectors.append(from_row(ConnectorInfo, r))
    return tuple(EvseInfo(evse_id, tuple(c)) for evse_id, c in grouped.items())
