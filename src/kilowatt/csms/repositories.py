"""Repository protocols: what the services need from storage, one protocol per aggregate.

The services depend on these protocols only; :mod:`kilowatt.storage` implements them twice,
in SQL (SQLite and PostgreSQL, group-committed) and in memory, and
``tests/storage/contract`` runs the same behaviour tests against every implementation.

Shapes. Rows are read-only mappings from column name to value, with the columns listed in each
protocol's docstring (the SQL tables of :mod:`kilowatt.storage.models` have the same names);
the services turn them into the domain types of :mod:`kilowatt.csms.model`. Times are aware
UTC :class:`~datetime.datetime`; energies are Wh as exact :class:`~decimal.Decimal`; JSON
columns hold plain ``dict``/``list`` values.

Units of work. Every write method is one atomic unit: it returns once its effects are durable
(SQL: after the COMMIT of the group commit that carried it), and either all of its effects
happen or none. The SQL implementation shares COMMITs between concurrent callers; when a
shared COMMIT fails it rolls back and runs each unit again, alone. A method that takes a
callback from the service (:meth:`TransactionRepository.record`) may therefore call it more
than once for one call: such callbacks must be pure functions of their arguments. The message
journal is the exception: its frames are buffered and written later
(:class:`JournalRepository`), never part of a durable acknowledgement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kilowatt.csms.model import SampledValue

__all__ = [
    "Changes",
    "IdTokenRepository",
    "JournalRepository",
    "JournalRow",
    "LocationRepository",
    "Repositories",
    "Row",
    "StationMetadataRepository",
    "StationRepository",
    "StepOutcome",
    "TariffRepository",
    "TransactionRepository",
    "TransactionStep",
]

Row = Mapping[str, Any]
"""A stored record: column name → value (see the module docstring for units)."""

Changes = dict[str, Any]
"""Columns to set on a record: column name → new value."""


class StationRepository(Protocol):
    """Stations with their EVSEs, connectors, configuration, device model and events.

    Covers stations, their EVSEs and connectors, 1.6 configuration keys, the 2.x device model
    and station notifications (events).

    Station rows: ``id``, ``ocpp_version``, ``vendor``, ``model``, ``serial_number``,
    ``firmware_version``, ``boot_status``, ``last_boot``, ``last_seen``, ``connected`` (bool),
    ``security_profile`` (0–3), ``password_hash``, ``location_id``, ``created_at``,
    ``updated_at``. Connector rows (:meth:`connectors`): ``station_id``, ``evse_id`` and
    ``connector_id``, ``status``, ``error_code``, ``info``, ``vendor_error_code``,
    ``status_at`` (all None for an EVSE without connector). Configuration rows: ``key``,
    ``value``, ``readonly``, ``updated_at``. Device-model rows: ``station_id``, ``component``,
    ``component_instance`` ('' for none), ``evse_id`` and ``connector_id`` (0 for none),
    ``variable``, ``variable_instance`` (''), ``attribute_type``, ``value``, ``mutability``,
    ``data_type``, ``unit``, ``updated_at``. Event rows: ``id`` (assigned, increasing),
    ``station_id``, ``at``, ``kind``, ``data`` (JSON object).
    """

    async def get(self, station_id: str) -> Row | None:
        """The station, or None."""
        ...

    async def page(
        self, *, limit: int, offset: int, connected: bool | None = None
    ) -> tuple[list[Row], int]:
        """Stations ordered by id (optionally only (dis)connected ones) and the total count."""
        ...

    async def connectors(self, station_ids: Sequence[str]) -> list[Row]:
        """EVSEs (with or without connectors) of the stations.

        Ordered by station, EVSE and connector; a row per connector, or one with
        ``connector_id`` None for a bare EVSE.
        """
        ...

    async def insert(self, values: Row) -> Row | None:
        """Insert a station; return the stored row, or None when the id exists.

        ``values`` has ``id``, ``created_at``, ``updated_at`` and any other columns. When the
        id exists nothing changes. Retry-safe: a re-run after a rollback inserts the same row.
        """
        ...

    async def update(self, station_id: str, values: Row) -> bool:
        """Set columns of a station; False when it does not exist."""
        ...

    async def record_connect(
        self, station_id: str, values: Row, *, create: Row | None
    ) -> tuple[Row | None, bool]:
        """Atomic unit for an accepted connection: update or create the station.

        Sets ``values`` on the station, or inserts ``create`` (a complete new station row,
        already holding ``values``) when the station does not exist and ``create`` is given.
        Returns the stored row (None: unknown and not created) and whether it was created.
        Retry-safe: the insert is conditional.
        """
        ...

    async def record_boot(self, station_id: str, values: Row, event: Row | None) -> None:
        """Atomic unit for a BootNotification: set ``values`` on the station, store ``event``.

        ``event`` (``at``, ``kind``, ``data``) is stored as a station event only when given.
        Retry-safe: after a rollback nothing of it remains, and the re-run writes it once.
        """
        ...

    def touch(self, station_id: str, at: datetime) -> Awaitable[None]:
        """Set ``last_seen`` to ``at`` in the next write, without waiting for it.

        Returns an awaitable resolved once the value is durable. Many touches may share one
        write (the SQL implementation batches every touch queued before the writer takes the
        batch into one statement); the latest ``at`` per station wins within a batch.
        """
        ...

    async def touched(self) -> None:
        """Wait until every :meth:`touch` made so far is durable.

        Gives read-your-writes before a read of ``last_seen``; errors of those writes are not
        raised here.
        """
        ...

    async def mark_all_disconnected(self) -> int:
        """Set ``connected`` False on every station; return how many were connected."""
        ...

    async def set_connector_status(
        self,
        station_id: str,
        evse_id: int,
        connector_id: int | None,
        values: Row,
        now: datetime,
    ) -> None:
        """Store the latest status, creating the EVSE and connector if needed.

        A created EVSE gets ``updated_at`` = ``now``. ``values`` has exactly ``status``,
        ``error_code``, ``info``, ``vendor_error_code``, ``status_at``. ``connector_id`` None
        records the EVSE alone.
        """
        ...

    async def delete(self, station_id: str) -> bool:
        """Delete a station and everything stored about it; False when it does not exist.

        Deletes its EVSEs, connectors, configuration, device model, events, metadata,
        transactions and meter values (those outside a transaction included). The message
        journal is not touched (its own repository, possibly another file).
        """
        ...

    async def put_configuration(self, station_id: str, rows: Sequence[Row]) -> None:
        """Insert or replace 1.6 configuration keys.

        Rows: ``key``, ``value``, ``readonly``, ``updated_at``.
        """
        ...

    async def configuration(self, station_id: str) -> list[Row]:
        """The station's configuration keys ordered by key."""
        ...

    async def put_variables(self, rows: Sequence[Row]) -> None:
        """Insert or update device-model attributes.

        Rows hold every device-model column; at most 500 per call (a bound-parameter limit of
        SQLite).

        ``value`` and ``updated_at`` are replaced; ``mutability``, ``data_type`` and ``unit``
        keep their stored value when the new row has None, because only NotifyReport states
        them (OCPP 2.0.1 B07/B08) while NotifyEvent and Get/SetVariables answers do not.
        """
        ...

    async def variables(self, station_id: str, *, component: str | None = None) -> list[Row]:
        """The station's device model (optionally one component), ordered by its key."""
        ...

    async def add_event(self, values: Row) -> int:
        """Store a station event (``station_id``, ``at``, ``kind``, ``data``); return its id."""
        ...

    async def events(
        self, station_id: str, *, kind: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """The station's events (optionally of one kind), newest first, and the total."""
        ...


class IdTokenRepository(Protocol):
    """Id tokens.

    Rows: ``id_token``, ``type``, ``status`` (Accepted/Blocked/Expired/Invalid), ``expiry``,
    ``group_id``, ``max_concurrent_transactions``, ``created_at``, ``updated_at``.
    """

    async def get(self, id_token: str) -> Row | None:
        """The token, or None."""
        ...

    async def page(self, *, limit: int, offset: int) -> tuple[list[Row], int]:
        """Tokens ordered by value, and the total."""
        ...

    async def put(self, values: Row) -> bool:
        """Insert or replace a token; True when it was created.

        ``values`` holds every column; ``created_at`` is kept on replace.
        """
        ...

    async def delete(self, id_token: str) -> bool:
        """Delete a token; False when it does not exist."""
        ...

    async def active_transactions(
        self, id_token: str, *, exclude_transaction: int | None = None
    ) -> int:
        """How many active transactions use the token (not counting ``exclude_transaction``)."""
        ...


@dataclass(slots=True)
class TransactionStep:
    """One message's effect on a transaction, applied as one unit.

    Applied by :meth:`TransactionRepository.record`.

    The transaction is found by ``transaction_id`` (the CSMS's id) or else by ``key`` (its
    idempotency key, unique per station); one of another station counts as not found. When it
    is not found and ``create`` is given (a complete transaction row without ``id``, whose
    ``dedup_key`` is ``key``), it is created. ``find_first`` False inserts ``create`` straight
    away (on a key conflict the existing row is used): cheaper when the transaction is
    usually new (a 1.6 StartTransaction), dearer when it usually exists.

    ``event`` (``seq_no``, ``event_type``, ``trigger_reason``, ``timestamp``) makes the step
    idempotent by sequence number: a (transaction, seq_no) already recorded makes the step a
    duplicate, which changes nothing.

    ``samples`` are stored for the transaction (or without one when none was found), on
    ``evse_id``/``connector_id``, or the transaction's own EVSE/connector when None (0 when
    neither is known); a sample already stored (same time, station, EVSE, connector,
    measurand, phase, location, context and value) is skipped.

    ``decide(row, created, new_samples)`` computes the column changes from the transaction as
    stored (``created`` True when this step created it) and the number of samples that were
    new; it is called only when a transaction was found or created and the step is not a
    duplicate. It may be called more than once per step (see the module docstring): it must be
    a pure function.

    Not frozen (a frozen dataclass costs a call per field to build, and one is built per
    transaction message); the repository does not change it.
    """

    station_id: str
    decide: Callable[[Row, bool, int], Changes]
    transaction_id: int | None = None
    key: str | None = None
    create: Row | None = None
    find_first: bool = True
    event: Row | None = None
    samples: Sequence[SampledValue] = ()
    evse_id: int | None = None
    connector_id: int | None = None


@dataclass(slots=True)
class StepOutcome:
    """What :meth:`TransactionRepository.record` did.

    ``transaction``: the row after the step (None when none was found nor created);
    ``created``: the step created it; ``duplicate``: its (transaction, seq_no) had been
    recorded before, nothing changed; ``new_samples``: samples stored now; ``changes``: the
    columns ``decide`` set (empty when none); ``others_active``: when the step created a
    transaction on an EVSE (id > 0), the ids of the station's other active transactions on
    that EVSE, oldest first (found in the same unit, so a new transaction costs no extra read).
    """

    transaction: Row | None
    created: bool
    duplicate: bool
    new_samples: int
    changes: Changes
    others_active: tuple[int, ...] = ()


class TransactionRepository(Protocol):
    """Transactions, their processed 2.x sequence numbers, and sampled meter values.

    Transaction rows: ``id`` (assigned by the repository, increasing), ``station_id``,
    ``dedup_key`` (idempotency key, unique per station), ``station_tx_id``, ``evse_id``,
    ``connector_id``, ``id_token``, ``id_token_type``, ``status`` (``active``/``completed``),
    ``started_at``, ``stopped_at``, ``meter_start_wh``, ``meter_stop_wh``, ``energy_wh``,
    ``stop_reason``, ``charging_state``, ``remote_start_id``, ``reservation_id``,
    ``last_seq_no``, ``updated_at``. Meter-value rows: ``id``, ``station_id``,
    ``transaction_id``, ``evse_id``, ``connector_id``, ``timestamp``, ``measurand``, ``phase``,
    ``location``, ``context`` (None when absent), ``unit``, ``value`` (Decimal).
    """

    async def record(self, step: TransactionStep) -> StepOutcome:
        """Apply ``step`` as one atomic unit; see :class:`TransactionStep`.

        The unit is: find or create, sequence check, samples, ``decide``'s changes.

        Retry-safe: a re-run after a rollback finds the database as before the first run
        and calls ``step.decide`` again, which must therefore be pure.
        """
        ...

    async def get(self, transaction_id: int) -> Row | None:
        """The transaction, or None."""
        ...

    async def get_by_key(self, station_id: str, key: str) -> Row | None:
        """The station's transaction with idempotency key ``key``, or None."""
        ...

    async def page(
        self, *, station_id: str | None, status: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Transactions newest (highest id) first, and the total.

        Optionally only those of one station and status.
        """
        ...

    async def active_on(self, station_id: str, evse_id: int | None) -> list[Row]:
        """Active transactions of a station (optionally one EVSE), oldest first."""
        ...

    async def meter_values(
        self, transaction_id: int, *, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """The transaction's samples ordered by time then id, and the total."""
        ...


JournalRow = tuple[str, datetime, str, int, "str | None", "str | None", str]
"""One frame for :meth:`JournalRepository.append`: station id, time (aware UTC), direction
("in"/"out"), OCPP-J message type id, action (when known), message id (when readable), frame
text as sent on the wire."""


class JournalRepository(Protocol):
    """The message journal: every OCPP-J frame in and out.

    Rows (:meth:`page`): ``id`` (assigned, increasing in the order frames were appended),
    ``station_id``, ``at``, ``direction`` (``in``/``out``), ``message_type`` (2–6),
    ``action`` and ``message_id`` (None when unknown), ``frame`` (text).

    Frames are buffered: :meth:`append` never waits and never raises for a failed write (the
    implementation logs and drops the frames it could not write). They are written at most
    :attr:`write_delay` s later; :meth:`flush` writes them at once. Journal rows are not part
    of any durable acknowledgement: a crash may lose the last :attr:`write_delay` s of frames.
    Reads and deletes see only written frames: call :meth:`flush` first for the latest.
    """

    @property
    def write_delay(self) -> float:
        """Most s an appended frame waits in memory before it is written (0: at once)."""
        ...

    @write_delay.setter
    def write_delay(self, value: float) -> None: ...

    def append(self, row: JournalRow) -> None:
        """Queue one frame (synchronous, needs a running event loop).

        Raises:
            ValueError: the time is a naive datetime (the file-backed implementation).
        """
        ...

    async def flush(self) -> None:
        """Wait until every frame appended before this call is written (or given up)."""
        ...

    async def page(
        self, station_id: str, *, limit: int, offset: int, action: str | None = None
    ) -> tuple[list[Row], int]:
        """The station's written frames newest first, and the total.

        Optionally only those of one action.
        """
        ...

    async def prune(self, *, before: datetime | None, keep: int | None) -> int:
        """Delete old written frames; return how many.

        Deletes frames older than ``before`` and all but the newest ``keep`` (None: no such
        limit). One atomic unit, retry-safe (a re-run after a rollback deletes the same
        frames).
        """
        ...

    async def prune_bytes(
        self,
        *,
        station_bytes: int | None,
        stations: Sequence[str] | None,
        total_bytes: int | None,
    ) -> int:
        """Delete the oldest written frames beyond byte limits; return how many.

        A frame's size is the UTF-8 length of its ``frame`` text in bytes. Each station of
        ``stations`` (None: every station) keeps its newest frames that fit in
        ``station_bytes``; then the journal keeps its newest frames that fit in
        ``total_bytes`` (None: no such limit). Retry-safe.
        """
        ...

    async def delete_station(self, station_id: str) -> int:
        """Delete every written frame of a station; return how many. Retry-safe."""
        ...


class LocationRepository(Protocol):
    """Locations (sites) and which stations stand there.

    Location rows: ``id``, ``name``, ``address``, ``city``, ``postal_code``, ``state``,
    ``country`` (ISO 3166-1 alpha-3), ``latitude`` and ``longitude`` (decimal degrees as
    text), ``time_zone``, ``parking_type``, ``facilities`` (JSON list), ``opening_times``
    (JSON object or None), ``charging_when_closed``, ``help_phone``, ``publish`` (bool),
    ``tariff_id`` (None: the default tariff), ``created_at``, ``updated_at``. A station
    stands at a location when its ``location_id`` (:class:`StationRepository`) names it.
    """

    async def get(self, location_id: str) -> Row | None:
        """The location, or None."""
        ...

    async def page(self, *, limit: int, offset: int) -> tuple[list[Row], int]:
        """Locations oldest first, and the total.

        Ordered by ``created_at``, then ``id``: a stable order for OCPI pagination.
        """
        ...

    async def insert(self, values: Row) -> bool:
        """Insert a location; False when the id exists (nothing changed).

        ``values`` has ``id`` and every column without a default.
        """
        ...

    async def update(self, location_id: str, values: Row) -> bool:
        """Set columns of a location; False when it does not exist."""
        ...

    async def delete(self, location_id: str) -> bool:
        """Atomic unit: delete a location; False when it does not exist.

        Clears the ``location_id`` of its stations (they keep running without one).
        Retry-safe.
        """
        ...

    async def station_ids(self, location_id: str) -> list[str]:
        """The identities of the stations at the location, ordered."""
        ...


class TariffRepository(Protocol):
    """Tariffs in the OCPI shape.

    Tariff rows: ``id``, ``currency`` (ISO 4217), ``type``, ``tax_included``
    (``YES``/``NO``/``N/A``), ``elements`` (JSON list of OCPI TariffElements, prices as
    decimal strings), ``alt_text`` (JSON list), ``alt_url``, ``min_price`` and ``max_price``
    (JSON objects), ``start_date_time``, ``end_date_time``, ``is_default`` (bool: at most one
    tariff has it), ``created_at``, ``updated_at``.
    """

    async def get(self, tariff_id: str) -> Row | None:
        """The tariff, or None."""
        ...

    async def default(self) -> Row | None:
        """The default tariff, or None."""
        ...

    async def page(
        self,
        *,
        limit: int,
        offset: int,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
    ) -> tuple[list[Row], int]:
        """Tariffs oldest first (``created_at``, then ``id``), and the total.

        Optionally only those with ``updated_at`` in [``updated_from``, ``updated_to``).
        """
        ...

    async def insert(self, values: Row) -> bool:
        """Atomic unit: insert a tariff; False when the id exists (nothing changed).

        ``values`` has ``id`` and every column without a default. When it ``is_default``,
        ``is_default`` is cleared on every other tariff. Retry-safe.
        """
        ...

    async def update(self, tariff_id: str, values: Row) -> bool:
        """Atomic unit: set columns of a tariff; False when it does not exist.

        When ``values`` sets ``is_default`` True, it is cleared on every other tariff.
        Retry-safe.
        """
        ...

    async def delete(self, tariff_id: str) -> list[str] | None:
        """Atomic unit: delete a tariff; return the ids of the locations that used it.

        Clears the ``tariff_id`` of the locations using it (they fall back to the default
        tariff). Returns None when the tariff does not exist (nothing changed). Retry-safe.
        """
        ...


class StationMetadataRepository(Protocol):
    """Operator-set EVSE and connector data (what OCPP does not report).

    EVSE rows: ``station_id``, ``evse_id``, ``evse_code``, ``capabilities`` (JSON list or
    None), ``floor_level``, ``physical_reference``, ``updated_at``. Connector rows:
    ``station_id``, ``evse_id``, ``connector_id``, ``standard``, ``format``, ``power_type``,
    ``max_voltage`` (V), ``max_amperage`` (A), ``max_electric_power`` (W), ``capabilities``,
    ``updated_at``. The station must exist (they are deleted with it).
    """

    async def evses(self, station_ids: Sequence[str]) -> list[Row]:
        """EVSE metadata of the stations, ordered by station and EVSE."""
        ...

    async def connectors(self, station_ids: Sequence[str]) -> list[Row]:
        """Connector metadata of the stations, ordered by station, EVSE and connector."""
        ...

    async def put_evse(self, values: Row) -> None:
        """Insert an EVSE's metadata, or set the given columns of the stored one.

        ``values`` has ``station_id``, ``evse_id``, ``updated_at`` and any other columns; the
        others keep their value.
        """
        ...

    async def put_connector(self, values: Row) -> None:
        """Insert a connector's metadata, or set the given columns of the stored one.

        ``values`` has ``station_id``, ``evse_id``, ``connector_id``, ``updated_at`` and any
        other columns.
        """
        ...


class Repositories(Protocol):
    """The repositories the services share (one object per storage backend)."""

    @property
    def stations(self) -> StationRepository:
        """Stations, EVSEs, connectors, configuration, device model, station events."""
        ...

    @property
    def id_tokens(self) -> IdTokenRepository:
        """Id tokens."""
        ...

    @property
    def transactions(self) -> TransactionRepository:
        """Transactions and meter values."""
        ...

    @property
    def journal(self) -> JournalRepository:
        """The message journal."""
        ...

    @property
    def locations(self) -> LocationRepository:
        """Locations."""
        ...

    @property
    def tariffs(self) -> TariffRepository:
        """Tariffs."""
        ...

    @property
    def metadata(self) -> StationMetadataRepository:
        """EVSE and connector metadata."""
        ...
