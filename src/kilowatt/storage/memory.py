"""In-memory repositories: the twin of the SQL ones, for tests and trials without a database.

They implement the protocols of :mod:`kilowatt.csms.repositories` with plain dicts and behave
like the SQL implementations (``tests/storage/contract`` runs the same tests on both): rows have
every column (defaults filled in as the tables declare them), datetimes come back in UTC,
ids increase from 1. Every method completes without suspending, so each one is atomic on the
event loop; a unit that fails (a ``decide`` callback raising) changes nothing. Nothing is
durable: the data lives as long as the object.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table

from kilowatt.csms.repositories import JournalRow, Row, StepOutcome, TransactionStep
from kilowatt.storage import tables

__all__ = [
    "MemoryIdTokenRepository",
    "MemoryJournalRepository",
    "MemoryLocationRepository",
    "MemoryRepositories",
    "MemoryStationMetadataRepository",
    "MemoryStationRepository",
    "MemoryTariffRepository",
    "MemoryTransactionRepository",
]

_JOURNAL_COLUMNS = (
    "station_id",
    "at",
    "direction",
    "message_type",
    "action",
    "message_id",
    "frame",
)


def _defaults(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        out[column.name] = default.arg if default is not None and default.is_scalar else None  # type: ignore[attr-defined]
    return out


def _stored(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """A full row of ``table`` from ``values`` (unknown column: KeyError, as SQL would fail)."""
    row = _defaults(table)
    for name, value in values.items():
        if name not in row:
            raise KeyError(f"{table.name} has no column {name!r}")
        row[name] = _value(value)
    return row


def _value(value: Any) -> Any:
    # As a round trip through the database returns it: UtcDateTime gives UTC; JSON a copy.
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, dict | list):
        return copy.deepcopy(value)
    return value


def _update(row: dict[str, Any], values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name not in row:
            raise KeyError(f"no column {name!r}")
        row[name] = _value(value)


def _out(row: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(row))


def _page(rows: Iterable[Mapping[str, Any]], limit: int, offset: int) -> tuple[list[Row], int]:
    items = list(rows)
    return [_out(r) for r in items[offset : offset + limit]], len(items)


def _done() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


class _Data:
    """All tables of one in-memory store (shared by its repositories)."""

    def __init__(self) -> None:
        self.stations: dict[str, dict[str, Any]] = {}
        self.evses: dict[tuple[str, int], dict[str, Any]] = {}
        self.connectors: dict[tuple[str, int, int], dict[str, Any]] = {}
        self.configuration: dict[tuple[str, str], dict[str, Any]] = {}
        self.variables: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.events: dict[int, dict[str, Any]] = {}
        self.id_tokens: dict[str, dict[str, Any]] = {}
        self.transactions: dict[int, dict[str, Any]] = {}
        self.tx_by_key: dict[tuple[str, str], int] = {}
        self.tx_events: set[tuple[int, int]] = set()
        self.meter_values: dict[int, dict[str, Any]] = {}
        self.sample_keys: set[tuple[Any, ...]] = set()
        self.journal: dict[int, dict[str, Any]] = {}
        self.locations: dict[str, dict[str, Any]] = {}
        self.tariffs: dict[str, dict[str, Any]] = {}
        self.evse_metadata: dict[tuple[str, int], dict[str, Any]] = {}
        self.connector_metadata: dict[tuple[str, int, int], dict[str, Any]] = {}
        self.next_id: dict[str, int] = {}

    def new_id(self, table: str) -> int:
        value = self.next_id.get(table, 0) + 1
        self.next_id[table] = value
        return value


class MemoryStationRepository:
    """Stations and what belongs to them, in memory."""

    def __init__(self, data: _Data) -> None:
        self._data = data

    async def get(self, station_id: str) -> Row | None:
        """The station, or None."""
        row = self._data.stations.get(station_id)
        return _out(row) if row is not None else None

    async def page(
        self, *, limit: int, offset: int, connected: bool | None = None
    ) -> tuple[list[Row], int]:
        """Stations by id, and the total."""
        rows = sorted(self._data.stations.values(), key=lambda r: r["id"])
        if connected is not None:
            rows = [r for r in rows if r["connected"] == connected]
        return _page(rows, limit, offset)

    async def connectors(self, station_ids: Sequence[str]) -> list[Row]:
        """EVSEs with their connectors (``connector_id`` None for a bare EVSE)."""
        wanted = set(station_ids)
        out: list[Row] = []
        for station_id, evse_id in sorted(k for k in self._data.evses if k[0] in wanted):
            found = sorted(
                (k, c)
                for k, c in self._data.connectors.items()
                if k[0] == station_id and k[1] == evse_id
            )
            if not found:
                out.append(
                    {
                        "station_id": station_id,
                        "evse_id": evse_id,
                        **dict.fromkeys(("connector_id", *_STATUS_COLUMNS)),
                    }
                )
            for (_, _, connector_id), c in found:
                out.append(
                    {
                        "station_id": station_id,
                        "evse_id": evse_id,
                        "connector_id": connector_id,
                        **{name: c[name] for name in _STATUS_COLUMNS},
                    }
                )
        return out

    def _insert(self, values: Mapping[str, Any]) -> bool:
        if values["id"] in self._data.stations:
            return False
        self._data.stations[values["id"]] = _stored(tables.stations, values)
        return True

    async def insert(self, values: Row) -> Row | None:
        """Insert; the stored row, or None when the id exists."""
        if not self._insert(values):
            return None
        return _out(self._data.stations[values["id"]])

    async def update(self, station_id: str, values: Row) -> bool:
        """Set columns; False when unknown."""
        row = self._data.stations.get(station_id)
        if row is None:
            return False
        _update(row, values)
        return True

    async def record_connect(
        self, station_id: str, values: Row, *, create: Row | None
    ) -> tuple[Row | None, bool]:
        """Update with ``values`` or insert ``create``."""
        created = create is not None and self._insert(create)
        if not created:
            await self.update(station_id, values)
        return await self.get(station_id), created

    async def record_boot(self, station_id: str, values: Row, event: Row | None) -> None:
        """Set ``values``; store ``event``."""
        await self.update(station_id, values)
        if event is not None:
            await self.add_event({"station_id": station_id, **event})

    def touch(self, station_id: str, at: datetime) -> Awaitable[None]:
        """Set ``last_seen`` now (an unknown station is ignored, as by the SQL UPDATE)."""
        row = self._data.stations.get(station_id)
        if row is not None:
            row["last_seen"] = _value(at)
        return _done()

    async def touched(self) -> None:
        """Nothing to wait for: :meth:`touch` writes at once."""

    async def mark_all_disconnected(self) -> int:
        """Set every station disconnected; how many were connected."""
        count = 0
        for row in self._data.stations.values():
            if row["connected"]:
                row["connected"] = False
                count += 1
        return count

    async def set_connector_status(
        self,
        station_id: str,
        evse_id: int,
        connector_id: int | None,
        values: Row,
        now: datetime,
    ) -> None:
        """Upsert the EVSE and connector with the latest status."""
        if station_id not in self._data.stations:
            raise KeyError(f"station {station_id!r} does not exist (foreign key)")
        evse = {"station_id": station_id, "evse_id": evse_id, "updated_at": now}
        self._data.evses[(station_id, evse_id)] = _stored(tables.evses, evse)
        if connector_id is None:
            return
        key = (station_id, evse_id, connector_id)
        row = {"station_id": station_id, "evse_id": evse_id, "connector_id": connector_id}
        self._data.connectors[key] = _stored(
            tables.connectors, {**row, **{name: values[name] for name in _STATUS_COLUMNS}}
        )

    async def delete(self, station_id: str) -> bool:
        """Delete the station and everything of it (not its journal)."""
        data = self._data
        if data.stations.pop(station_id, None) is None:
            return False
        for table in (
            data.evses,
            data.connectors,
            data.configuration,
            data.variables,
            data.evse_metadata,
            data.connector_metadata,
        ):
            for key in [k for k in table if k[0] == station_id]:
                del table[key]
        for event_id in [i for i, e in data.events.items() if e["station_id"] == station_id]:
            del data.events[event_id]
        for tx_id in [i for i, t in data.transactions.items() if t["station_id"] == station_id]:
            _delete_transaction(data, tx_id)
        for mv_id, mv in list(data.meter_values.items()):
            if mv["station_id"] == station_id and mv["transaction_id"] is None:
                del data.meter_values[mv_id]
                data.sample_keys.discard(tuple(mv[k] for k in tables.METER_VALUE_KEY))
        return True

    async def put_configuration(self, station_id: str, rows: Sequence[Row]) -> None:
        """Insert or replace configuration keys."""
        for row in rows:
            values = {"station_id": station_id, **row}
            self._data.configuration[(station_id, row["key"])] = _stored(
                tables.configuration_keys, values
            )

    async def configuration(self, station_id: str) -> list[Row]:
        """Configuration keys by key."""
        keys = sorted(k for k in self._data.configuration if k[0] == station_id)
        return [_out(self._data.configuration[k]) for k in keys]

    async def put_variables(self, rows: Sequence[Row]) -> None:
        """Upsert device-model attributes; None keeps a stored mutability/data_type/unit."""
        for values in rows:
            key = tuple(values[name] for name in tables.DEVICE_VARIABLE_KEY)
            stored = self._data.variables.get(key)
            new = _stored(tables.device_variables, values)
            if stored is not None:
                for name in ("mutability", "data_type", "unit"):
                    if new[name] is None:
                        new[name] = stored[name]
            self._data.variables[key] = new

    async def variables(self, station_id: str, *, component: str | None = None) -> list[Row]:
        """The device model ordered by its key."""
        keys = sorted(
            k
            for k in self._data.variables
            if k[0] == station_id and (component is None or k[1] == component)
        )
        return [_out(self._data.variables[k]) for k in keys]

    async def add_event(self, values: Row) -> int:
        """Store a station event; its id."""
        if values["station_id"] not in self._data.stations:
            raise KeyError(f"station {values['station_id']!r} does not exist (foreign key)")
        event_id = self._data.new_id("station_events")
        self._data.events[event_id] = _stored(tables.station_events, {**values, "id": event_id})
        return event_id

    async def events(
        self, station_id: str, *, kind: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Events newest first, and the total."""
        rows = [
            e
            for _, e in sorted(self._data.events.items(), reverse=True)
            if e["station_id"] == station_id and (kind is None or e["kind"] == kind)
        ]
        return _page(rows, limit, offset)


_STATUS_COLUMNS = ("status", "error_code", "info", "vendor_error_code", "status_at")


def _active_on(data: _Data, station_id: str, evse_id: int | None) -> list[dict[str, Any]]:
    """The stored active transaction rows of a station (one EVSE unless None), oldest first."""
    return [
        t
        for _, t in sorted(data.transactions.items())
        if t["station_id"] == station_id
        and t["status"] == "active"
        and (evse_id is None or t["evse_id"] == evse_id)
    ]


def _delete_transaction(data: _Data, tx_id: int) -> None:
    tx = data.transactions.pop(tx_id)
    data.tx_by_key.pop((tx["station_id"], tx["dedup_key"]), None)
    data.tx_events = {k for k in data.tx_events if k[0] != tx_id}
    for mv_id, mv in list(data.meter_values.items()):
        if mv["transaction_id"] == tx_id:
            del data.meter_values[mv_id]
            data.sample_keys.discard(tuple(mv[k] for k in tables.METER_VALUE_KEY))


class MemoryIdTokenRepository:
    """Id tokens in memory."""

    def __init__(self, data: _Data) -> None:
        self._data = data

    async def get(self, id_token: str) -> Row | None:
        """The token, or None."""
        row = self._data.id_tokens.get(id_token)
        return _out(row) if row is not None else None

    async def page(self, *, limit: int, offset: int) -> tuple[list[Row], int]:
        """Tokens by value, and the total."""
        return _page(
            sorted(self._data.id_tokens.values(), key=lambda r: r["id_token"]), limit, offset
        )

    async def put(self, values: Row) -> bool:
        """Insert or replace (``created_at`` kept); True when created."""
        stored = self._data.id_tokens.get(values["id_token"])
        new = _stored(tables.id_tokens, values)
        if stored is not None:
            new["created_at"] = stored["created_at"]
        self._data.id_tokens[values["id_token"]] = new
        return stored is None

    async def delete(self, id_token: str) -> bool:
        """Delete; False when unknown."""
        return self._data.id_tokens.pop(id_token, None) is not None

    async def active_transactions(
        self, id_token: str, *, exclude_transaction: int | None = None
    ) -> int:
        """Active transactions using the token, ``exclude_transaction`` not counted."""
        return sum(
            1
            for tx_id, t in self._data.transactions.items()
            if t["id_token"] == id_token
            and t["status"] == "active"
            and tx_id != exclude_transaction
        )


class MemoryTransactionRepository:
    """Transactions and meter values in memory."""

    def __init__(self, data: _Data) -> None:
        self._data = data

    async def record(self, step: TransactionStep) -> StepOutcome:
        """Apply ``step`` atomically (everything is computed before anything is stored)."""
        data = self._data
        station_id = step.station_id
        row: dict[str, Any] | None = None
        if step.transaction_id is not None:
            row = data.transactions.get(step.transaction_id)
        elif step.key is not None:
            tx_id = data.tx_by_key.get((station_id, step.key))
            row = data.transactions.get(tx_id) if tx_id is not None else None
        if row is not None and row["station_id"] != station_id:
            row = None
        created = False
        if row is None and step.create is not None:
            key = (station_id, step.create["dedup_key"])
            if key in data.tx_by_key:
                row = data.transactions[data.tx_by_key[key]]
            else:
                if station_id not in data.stations:
                    raise KeyError(f"station {station_id!r} does not exist (foreign key)")
                row = _stored(tables.transactions, {**step.create, "id": 0})
                created = True
        # A row created now has id 0 (assigned at the end): never a recorded sequence number.
        event = step.event
        seq = (row["id"], event["seq_no"]) if row is not None and event is not None else None
        if seq is not None and seq in data.tx_events:
            return StepOutcome(_out(row), False, True, 0, {})  # type: ignore[arg-type]
        samples: list[dict[str, Any]] = []
        if step.samples:
            evse_id, connector_id = step.evse_id, step.connector_id
            if row is not None:
                evse_id = row["evse_id"] if evse_id is None else evse_id
                connector_id = row["connector_id"] if connector_id is None else connector_id
            seen: set[tuple[Any, ...]] = set()
            for s in step.samples:
                sample = _stored(
                    tables.meter_values,
                    {
                        "station_id": station_id,
                        "transaction_id": None,
                        "evse_id": evse_id or 0,
                        "connector_id": connector_id or 0,
                        "timestamp": s.timestamp,
                        "measurand": s.measurand,
                        "phase": s.phase or "",
                        "location": s.location or "",
                        "context": s.context or "",
                        "unit": s.unit,
                        "value": s.value,
                    },
                )
                key = tuple(sample[k] for k in tables.METER_VALUE_KEY)
                if key not in data.sample_keys and key not in seen:
                    seen.add(key)
                    samples.append(sample)
        changes = step.decide(_out(row), created, len(samples)) if row is not None else {}
        # Everything computed: store it.
        if created:
            assert row is not None
            row["id"] = data.new_id("transactions")
            data.transactions[row["id"]] = row
            data.tx_by_key[(station_id, row["dedup_key"])] = row["id"]
        if row is not None and step.event is not None:
            data.tx_events.add((row["id"], step.event["seq_no"]))
        for sample in samples:
            sample["id"] = data.new_id("meter_values")
            sample["transaction_id"] = row["id"] if row is not None else None
            data.meter_values[sample["id"]] = sample
            data.sample_keys.add(tuple(sample[k] for k in tables.METER_VALUE_KEY))
        if row is None:
            return StepOutcome(None, False, False, len(samples), {})
        _update(row, changes)
        others: tuple[int, ...] = ()
        if created and row["evse_id"]:
            active = _active_on(data, station_id, row["evse_id"])
            others = tuple(t["id"] for t in active if t["id"] != row["id"])
        return StepOutcome(_out(row), created, False, len(samples), changes, others)

    async def get(self, transaction_id: int) -> Row | None:
        """The transaction, or None."""
        row = self._data.transactions.get(transaction_id)
        return _out(row) if row is not None else None

    async def get_by_key(self, station_id: str, key: str) -> Row | None:
        """The station's transaction with idempotency key ``key``, or None."""
        tx_id = self._data.tx_by_key.get((station_id, key))
        return await self.get(tx_id) if tx_id is not None else None

    async def page(
        self, *, station_id: str | None, status: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Newest first, optionally of one station and status; and the total."""
        rows = [
            t
            for _, t in sorted(self._data.transactions.items(), reverse=True)
            if (station_id is None or t["station_id"] == station_id)
            and (status is None or t["status"] == status)
        ]
        return _page(rows, limit, offset)

    async def active_on(self, station_id: str, evse_id: int | None) -> list[Row]:
        """Active transactions of a station (optionally one EVSE), oldest first."""
        return [_out(t) for t in _active_on(self._data, station_id, evse_id)]

    async def meter_values(
        self, transaction_id: int, *, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """The transaction's samples by time, then id; and the total."""
        rows = sorted(
            (m for m in self._data.meter_values.values() if m["transaction_id"] == transaction_id),
            key=lambda m: (m["timestamp"], m["id"]),
        )
        return _page(rows, limit, offset)


class MemoryJournalRepository:
    """The message journal in memory: :meth:`append` stores the frame at once (nothing is
    buffered, so :meth:`flush` has nothing to wait for; ``write_delay`` is kept, unused)."""

    def __init__(self, data: _Data, *, write_delay: float = 0.25) -> None:
        self._data = data
        self.write_delay = write_delay
        """Kept for the protocol; frames are stored without delay."""

    def append(self, row: JournalRow) -> None:
        """Store one frame (a naive time raises ValueError, as the journal file does)."""
        if row[1].tzinfo is None:
            raise ValueError("naive datetime: journal times are aware UTC")
        frame_id = self._data.new_id("journal")
        values = dict(zip(_JOURNAL_COLUMNS, row, strict=True))
        self._data.journal[frame_id] = _stored(tables.journal, {**values, "id": frame_id})

    async def flush(self) -> None:
        """Nothing to wait for: :meth:`append` stores at once."""

    async def page(
        self, station_id: str, *, limit: int, offset: int, action: str | None = None
    ) -> tuple[list[Row], int]:
        """The station's frames, newest first, and the total."""
        rows = [
            f
            for _, f in sorted(self._data.journal.items(), reverse=True)
            if f["station_id"] == station_id and (action is None or f["action"] == action)
        ]
        return _page(rows, limit, offset)

    async def prune(self, *, before: datetime | None, keep: int | None) -> int:
        """Delete frames older than ``before`` and beyond the newest ``keep``; how many."""
        journal = self._data.journal
        doomed = {i for i, f in journal.items() if before is not None and f["at"] < before}
        if keep is not None:
            doomed.update(sorted(journal, reverse=True)[keep:])
        for frame_id in doomed:
            del journal[frame_id]
        return len(doomed)

    async def prune_bytes(
        self,
        *,
        station_bytes: int | None,
        stations: Sequence[str] | None,
        total_bytes: int | None,
    ) -> int:
        """Delete the oldest frames beyond the byte limits (UTF-8 ``frame``); how many."""
        journal = self._data.journal
        doomed: set[int] = set()
        used: dict[str, int] = {}
        total = 0
        wanted = None if stations is None else set(stations)
        for frame_id in sorted(journal, reverse=True):
            row = journal[frame_id]
            size = len(row["frame"].encode("utf-8", "surrogatepass"))
            station = row["station_id"]
            if station_bytes is not None and (wanted is None or station in wanted):
                used[station] = used.get(station, 0) + size
                if used[station] > station_bytes:
                    doomed.add(frame_id)
                    continue
            total += size
            if total_bytes is not None and total > total_bytes:
                doomed.add(frame_id)
        for frame_id in doomed:
            del journal[frame_id]
        return len(doomed)

    async def delete_station(self, station_id: str) -> int:
        """Delete the station's frames; how many."""
        journal = self._data.journal
        doomed = [i for i, f in journal.items() if f["station_id"] == station_id]
        for frame_id in doomed:
            del journal[frame_id]
        return len(doomed)


class MemoryLocationRepository:
    """Locations in memory."""

    def __init__(self, data: _Data) -> None:
        self._data = data

    async def get(self, location_id: str) -> Row | None:
        """The location, or None."""
        row = self._data.locations.get(location_id)
        return _out(row) if row is not None else None

    async def page(self, *, limit: int, offset: int) -> tuple[list[Row], int]:
        """Oldest first, and the total."""
        rows = sorted(self._data.locations.values(), key=lambda r: (r["created_at"], r["id"]))
        return _page(rows, limit, offset)

    async def insert(self, values: Row) -> bool:
        """Insert; False when the id exists."""
        if values["id"] in self._data.locations:
            return False
        self._data.locations[values["id"]] = _stored(tables.locations, values)
        return True

    async def update(self, location_id: str, values: Row) -> bool:
        """Set columns; False when unknown."""
        row = self._data.locations.get(location_id)
        if row is None:
            return False
        _update(row, values)
        return True

    async def delete(self, location_id: str) -> bool:
        """Delete the location and unassign its stations; False when unknown."""
        if self._data.locations.pop(location_id, None) is None:
            return False
        for station in self._data.stations.values():
            if station["location_id"] == location_id:
                station["location_id"] = None
        return True

    async def station_ids(self, location_id: str) -> list[str]:
        """Stations at the location, by identity."""
        return sorted(
            s["id"] for s in self._data.stations.values() if s["location_id"] == location_id
        )


class MemoryTariffRepository:
    """Tariffs in memory."""

    def __init__(self, data: _Data) -> None:
        self._data = data

    async def get(self, tariff_id: str) -> Row | None:
        """The tariff, or None."""
        row = self._data.tariffs.get(tariff_id)
        return _out(row) if row is not None else None

    async def default(self) -> Row | None:
        """The default tariff (the first by id), or None."""
        found = sorted(t["id"] for t in self._data.tariffs.values() if t["is_default"])
        return await self.get(found[0]) if found else None

    async def page(
        self,
        *,
        limit: int,
        offset: int,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
    ) -> tuple[list[Row], int]:
        """Oldest first, optionally by ``updated_at`` in [from, to); and the total."""
        rows = [
            t
            for t in sorted(self._data.tariffs.values(), key=lambda r: (r["created_at"], r["id"]))
            if (updated_from is None or t["updated_at"] >= updated_from)
            and (updated_to is None or t["updated_at"] < updated_to)
        ]
        return _page(rows, limit, offset)

    def _only_default(self, keep: str) -> None:
        for tariff in self._data.tariffs.values():
            if tariff["id"] != keep:
                tariff["is_default"] = False

    async def insert(self, values: Row) -> bool:
        """Insert (a default one becomes the only default); False when the id exists."""
        if values["id"] in self._data.tariffs:
            return False
        row = _stored(tables.tariffs, values)
        self._data.tariffs[values["id"]] = row
        if row["is_default"]:
            self._only_default(values["id"])
        return True

    async def update(self, tariff_id: str, values: Row) -> bool:
        """Set columns (``is_default`` True clears it elsewhere); False when unknown."""
        row = self._data.tariffs.get(tariff_id)
        if row is None:
            return False
        _update(row, values)
        if values.get("is_default"):
            self._only_default(tariff_id)
        return True

    async def delete(self, tariff_id: str) -> list[str] | None:
        """Delete the tariff and clear it from its locations; their ids (None: unknown)."""
        if self._data.tariffs.pop(tariff_id, None) is None:
            return None
        ids = []
        for location in sorted(self._data.locations.values(), key=lambda r: r["id"]):
            if location["tariff_id"] == tariff_id:
                location["tariff_id"] = None
                ids.append(location["id"])
        return ids


class MemoryStationMetadataRepository:
    """EVSE and connector metadata in memory."""

    def __init__(self, data: _Data) -> None:
        self._data = data

    async def evses(self, station_ids: Sequence[str]) -> list[Row]:
        """EVSE metadata by station and EVSE."""
        wanted = set(station_ids)
        table = self._data.evse_metadata
        return [_out(table[k]) for k in sorted(table) if k[0] in wanted]

    async def connectors(self, station_ids: Sequence[str]) -> list[Row]:
        """Connector metadata by station, EVSE and connector."""
        wanted = set(station_ids)
        table = self._data.connector_metadata
        return [_out(table[k]) for k in sorted(table) if k[0] in wanted]

    async def put_evse(self, values: Row) -> None:
        """Insert, or set the given columns of, an EVSE's metadata."""
        self._put(self._data.evse_metadata, tables.evse_metadata, ("station_id", "evse_id"), values)

    async def put_connector(self, values: Row) -> None:
        """Insert, or set the given columns of, a connector's metadata."""
        key = ("station_id", "evse_id", "connector_id")
        self._put(self._data.connector_metadata, tables.connector_metadata, key, values)

    def _put(
        self,
        rows: dict[Any, dict[str, Any]],
        table: Table,
        key_columns: tuple[str, ...],
        values: Row,
    ) -> None:
        if values["station_id"] not in self._data.stations:
            raise KeyError(f"station {values['station_id']!r} does not exist (foreign key)")
        key = tuple(values[name] for name in key_columns)
        stored = rows.get(key)
        if stored is None:
            rows[key] = _stored(table, values)
        else:
            _update(stored, values)


class MemoryRepositories:
    """Every in-memory repository over one shared store (implements
    :class:`kilowatt.csms.repositories.Repositories`)."""

    def __init__(self) -> None:
        data = _Data()
        self.stations = MemoryStationRepository(data)
        self.id_tokens = MemoryIdTokenRepository(data)
        self.transactions = MemoryTransactionRepository(data)
        self.journal = MemoryJournalRepository(data)
        self.locations = MemoryLocationRepository(data)
        self.tariffs = MemoryTariffRepository(data)
        self.metadata = MemoryStationMetadataRepository(data)
