"""Persistence of the OCPI layer (partners, endpoints, tokens, commands, outbox).

:class:`OcpiStore` wraps an SQLAlchemy :class:`~sqlalchemy.ext.asyncio.AsyncEngine` (SQLite
via aiosqlite or PostgreSQL via asyncpg) and the tables of
:mod:`kilowatt.storage.ocpi_models`. Each method is one short transaction.

Writes go through a :class:`Writer` when one is given: inside Kilowatt that is the CSMS's
group-commit writer (:meth:`kilowatt.storage.Database.write`), so SQLite keeps a single writer
connection. A second writer on the same SQLite file would contend for the write lock: a
transaction that reads before it writes (:meth:`OcpiStore.put_token`) can then fail at once
with "database is locked", and with a driver that runs SQLite on the event loop thread a
writer waiting for the lock blocks the whole loop for up to the busy timeout. Without a
writer (standalone OCPI app), each write is its own ``engine.begin()`` transaction.

Credentials tokens we issue (A and C) are stored as SHA-256 hex digests only: they are 256-bit
random values (:func:`new_token`), so a fast unsalted hash is as hard to invert as the token
is to guess, and a lookup by digest stays one indexed query. The token a partner issued to us
is stored as it is because we must send it back in ``Authorization``; it is never logged
(``repr=False`` on :attr:`PartnerInfo.their_token`) and no API answer contains it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from kilowatt.ocpi.models.common import Endpoint
from kilowatt.storage.ocpi_models import (
    OCPI_TABLES,
    OcpiCommand,
    OcpiOutbox,
    OcpiPartner,
    OcpiPartnerEndpoint,
    OcpiToken,
)

T = TypeVar("T")


class Writer(Protocol):
    """Runs a write operation in a transaction and returns its result once committed.

    ``op`` gets an :class:`AsyncConnection` inside an open transaction and must not commit;
    it may be run again after a rollback, so it must have no effect outside the database.
    :meth:`kilowatt.storage.Database.write` is one.
    """

    def __call__(self, op: Callable[[AsyncConnection], Awaitable[T]], /) -> Awaitable[T]:
        """Run ``op`` in a transaction; its result once committed."""
        ...


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a credentials token (what we store for tokens we issue)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh credentials token: 43 URL-safe characters (256 bits), within CiString(64)."""
    return secrets.token_urlsafe(32)


def utc(value: datetime) -> datetime:
    """Aware UTC datetime (SQLite returns naive values for timezone columns)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PartnerInfo:
    """A snapshot of one ``ocpi_partners`` row."""

    id: str
    name: str
    state: str
    version: str | None
    versions_url: str | None
    # Kept out of repr(): a PartnerInfo in a log line or a traceback must not carry it.
    their_token: str | None = field(repr=False)
    country_code: str | None
    party_id: str | None
    roles: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A snapshot of one undelivered ``ocpi_outbox`` row."""

    id: int
    partner_id: str
    method: str
    module: str | None
    target: str
    body: Any
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewOutbox:
    """A request to enqueue: see :class:`~kilowatt.storage.ocpi_models.OcpiOutbox`."""

    partner_id: str
    method: str
    module: str | None
    target: str
    body: Any


@dataclass(frozen=True, slots=True)
class StoredCommand:
    """A snapshot of one ``ocpi_commands`` row."""

    id: str
    partner_id: str
    type: str
    request: dict[str, Any]
    response_url: str
    state: str
    result: str | None
    deadline: datetime


def _partner_info(row: OcpiPartner) -> PartnerInfo:
    return PartnerInfo(
        row.id,
        row.name,
        row.state,
        row.version,
        row.versions_url,
        row.their_token,
        row.country_code,
        row.party_id,
        list(row.roles or []),
    )


class OcpiStore:
    """Repository for the OCPI tables on ``engine``; writes through ``writer`` if given."""

    def __init__(self, engine: AsyncEngine, writer: Writer | None = None) -> None:
        self.engine = engine
        self._writer = writer
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def _write(self, op: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``op`` in a write transaction (the shared writer's, or one of our own)."""
        if self._writer is not None:
            return await self._writer(op)
        async with self.engine.begin() as conn:
            return await op(conn)

    async def create_tables(self) -> None:
        """Create the OCPI tables if missing (tests/embedded use; production uses Alembic)."""
        from kilowatt.storage.base import Base

        async with self.engine.begin() as conn:
            await conn.run_sync(lambda c: Base.metadata.create_all(c, tables=OCPI_TABLES))  # type: ignore[arg-type]

    def session(self) -> AsyncSession:
        """A new ORM session (caller manages the transaction)."""
        return self._sessions()

    # ------------------------------------------------------------------ partners

    async def create_partner(self, name: str, *, now: datetime) -> tuple[str, str]:
        """Create a PENDING partner and its token A. Returns ``(partner_id, token_a)``."""
        partner_id = str(uuid.uuid4())
        token_a = new_token()

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(
                insert(OcpiPartner).values(
                    id=partner_id,
                    name=name,
                    state="PENDING",
                    token_a_hash=hash_token(token_a),
                    roles=[],
                    created_at=now,
                    updated_at=now,
                )
            )

        await self._write(op)
        return partner_id, token_a

    async def get_partner(self, partner_id: str) -> PartnerInfo | None:
        """The partner, or ``None``."""
        async with self._sessions() as s:
            row = await s.get(OcpiPartner, partner_id)
            return _partner_info(row) if row else None

    async def find_by_token(self, token: str) -> tuple[PartnerInfo, str] | None:
        """Find the partner owning credentials token ``token``; returns it and ``"A"``/``"C"``."""
        digest = hash_token(token)
        async with self._sessions() as s:
            row = (
                await s.execute(select(OcpiPartner).where(OcpiPartner.token_c_hash == digest))
            ).scalar_one_or_none()
            if row is not None:
                return _partner_info(row), "C"
            row = (
                await s.execute(select(OcpiPartner).where(OcpiPartner.token_a_hash == digest))
            ).scalar_one_or_none()
            if row is not None:
                return _partner_info(row), "A"
        return None

    async def set_our_token(self, partner_id: str, token: str, *, now: datetime) -> None:
        """Issue ``token`` as the partner's token C (the one they call us with); retire A."""

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(
                update(OcpiPartner)
                .where(OcpiPartner.id == partner_id)
                .values(token_c_hash=hash_token(token), token_a_hash=None, updated_at=now)
            )

        await self._write(op)

    async def register(
        self,
        partner_id: str,
        *,
        version: str,
        versions_url: str,
        their_token: str,
        roles: list[dict[str, Any]],
        hub_party_id: str | None,
        endpoints: Sequence[Endpoint],
        now: datetime,
    ) -> None:
        """Mark a partner REGISTERED with its version, token, roles and endpoints (replaced)."""
        emsp = next((r for r in roles if r.get("role") == "EMSP"), roles[0] if roles else {})

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(
                update(OcpiPartner)
                .where(OcpiPartner.id == partner_id)
                .values(
                    state="REGISTERED",
                    version=version,
                    versions_url=versions_url,
                    their_token=their_token,
                    roles=roles,
                    hub_party_id=hub_party_id,
                    country_code=emsp.get("country_code"),
                    party_id=emsp.get("party_id"),
                    updated_at=now,
                )
            )
            await conn.execute(
                delete(OcpiPartnerEndpoint).where(OcpiPartnerEndpoint.partner_id == partner_id)
            )
            if rows:
                await conn.execute(insert(OcpiPartnerEndpoint), rows)

        rows = [
            {"partner_id": partner_id, "identifier": ep.identifier, "role": ep.role, "url": ep.url}
            for ep in endpoints
        ]
        await self._write(op)

    async def unregister(self, partner_id: str, *, now: datetime) -> None:
        """Forget the partner's tokens and endpoints (credentials DELETE)."""

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(
                update(OcpiPartner)
                .where(OcpiPartner.id == partner_id)
                .values(
                    state="UNREGISTERED",
                    token_c_hash=None,
                    token_a_hash=None,
                    their_token=None,
                    updated_at=now,
                )
            )
            await conn.execute(
                delete(OcpiPartnerEndpoint).where(OcpiPartnerEndpoint.partner_id == partner_id)
            )

        await self._write(op)

    async def registered_partners(self) -> list[PartnerInfo]:
        """All REGISTERED partners, oldest first."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(OcpiPartner)
                    .where(OcpiPartner.state == "REGISTERED")
                    .order_by(OcpiPartner.created_at)
                )
            ).scalars()
            return [_partner_info(r) for r in rows]

    async def endpoint(self, partner_id: str, identifier: str, role: str) -> str | None:
        """URL of the partner's ``identifier`` endpoint in ``role``, or ``None``."""
        async with self._sessions() as s:
            row = await s.get(OcpiPartnerEndpoint, (partner_id, identifier, role))
            return row.url if row else None

    async def endpoints(self, partner_id: str) -> list[Endpoint]:
        """All endpoints of a partner."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(OcpiPartnerEndpoint).where(OcpiPartnerEndpoint.partner_id == partner_id)
                )
            ).scalars()
            return [
                Endpoint.model_validate({"identifier": r.identifier, "role": r.role, "url": r.url})
                for r in rows
            ]

    # ------------------------------------------------------------------ tokens

    async def put_token(
        self, data: dict[str, Any], *, partner_id: str | None, now: datetime
    ) -> bool:
        """Insert or replace a token (canonical JSON). Returns ``True`` when newly created."""
        key = (data["country_code"], data["party_id"], data["uid"], data["type"])
        last = datetime.fromisoformat(data["last_updated"].replace("Z", "+00:00"))
        values = {
            "partner_id": partner_id,
            "whitelist": data["whitelist"],
            "valid": bool(data["valid"]),
            "data": data,
            "last_updated": last,
        }
        where = (
            OcpiToken.country_code == key[0],
            OcpiToken.party_id == key[1],
            OcpiToken.uid == key[2],
            OcpiToken.type == key[3],
        )

        async def op(conn: AsyncConnection) -> bool:
            found = await conn.scalar(select(OcpiToken.uid).where(*where))
            if found is None:
                await conn.execute(
                    insert(OcpiToken).values(
                        country_code=key[0], party_id=key[1], uid=key[2], type=key[3], **values
                    )
                )
                return True
            await conn.execute(update(OcpiToken).where(*where).values(**values))
            return False

        return await self._write(op)

    async def get_token(
        self, country_code: str, party_id: str, uid: str, type_: str
    ) -> dict[str, Any] | None:
        """The stored token's canonical JSON, or ``None``."""
        async with self._sessions() as s:
            row = await s.get(OcpiToken, (country_code, party_id, uid, type_))
            return dict(row.data) if row else None

    async def find_tokens(
        self, uid: str, type_: str | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        """Tokens with this ``uid`` (and type), as ``(partner_id, data)``; most recent first."""
        async with self._sessions() as s:
            stmt = select(OcpiToken).where(OcpiToken.uid == uid)
            if type_ is not None:
                stmt = stmt.where(OcpiToken.type == type_)
            rows = (await s.execute(stmt.order_by(OcpiToken.last_updated.desc()))).scalars()
            return [(r.partner_id, dict(r.data)) for r in rows]

    # ------------------------------------------------------------------ commands

    async def add_command(
        self,
        *,
        command_id: str,
        partner_id: str,
        type_: str,
        request: dict[str, Any],
        response_url: str,
        now: datetime,
        deadline: datetime,
    ) -> None:
        """Persist a received command as PENDING."""

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(
                insert(OcpiCommand).values(
                    id=command_id,
                    partner_id=partner_id,
                    type=type_,
                    request=request,
                    response_url=response_url,
                    state="PENDING",
                    created_at=now,
                    deadline=deadline,
                )
            )

        await self._write(op)

    async def resolve_command(
        self, command_id: str, result: str, outbox: NewOutbox, *, now: datetime
    ) -> bool:
        """Atomically mark a PENDING command RESOLVED and enqueue its CommandResult.

        Returns ``False`` (and changes nothing) when the command was already resolved, so a
        late charger answer and the deadline timer cannot both post a result. The guard is the
        UPDATE's row count (exact for UPDATE on asyncpg, aiosqlite and the inline SQLite
        driver); a concurrent second UPDATE waits for the first one's lock and then no longer
        matches ``state = 'PENDING'``.
        """

        async def op(conn: AsyncConnection) -> bool:
            res = await conn.execute(
                update(OcpiCommand)
                .where(OcpiCommand.id == command_id, OcpiCommand.state == "PENDING")
                .values(state="RESOLVED", result=result)
            )
            if res.rowcount != 1:
                return False
            await conn.execute(insert(OcpiOutbox).values(**_outbox_row(outbox, now)))
            return True

        return await self._write(op)

    async def pending_commands(self) -> list[StoredCommand]:
        """All PENDING commands, oldest first."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(OcpiCommand)
                    .where(OcpiCommand.state == "PENDING")
                    .order_by(OcpiCommand.created_at)
                )
            ).scalars()
            return [
                StoredCommand(
                    r.id,
                    r.partner_id,
                    r.type,
                    dict(r.request),
                    r.response_url,
                    r.state,
                    r.result,
                    utc(r.deadline),
                )
                for r in rows
            ]

    async def get_command(self, command_id: str) -> StoredCommand | None:
        """One command, or ``None``."""
        async with self._sessions() as s:
            r = await s.get(OcpiCommand, command_id)
            if r is None:
                return None
            return StoredCommand(
                r.id,
                r.partner_id,
                r.type,
                dict(r.request),
                r.response_url,
                r.state,
                r.result,
                utc(r.deadline),
            )

    # ------------------------------------------------------------------ outbox

    async def enqueue(self, entries: Sequence[NewOutbox], *, now: datetime) -> None:
        """Append requests to the outbox (due immediately)."""
        if not entries:
            return
        rows = [_outbox_row(e, now) for e in entries]

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(insert(OcpiOutbox), rows)

        await self._write(op)

    async def undelivered(self, limit: int = 500) -> list[OutboxEntry]:
        """Undelivered entries in insertion order (the worker keeps per-partner order)."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(OcpiOutbox)
                    .where(OcpiOutbox.delivered_at.is_(None))
                    .order_by(OcpiOutbox.id)
                    .limit(limit)
                )
            ).scalars()
            return [
                OutboxEntry(
                    r.id,
                    r.partner_id,
                    r.method,
                    r.module,
                    r.target,
                    r.body,
                    r.attempts,
                    utc(r.next_attempt_at),
                    utc(r.created_at),
                )
                for r in rows
            ]

    async def claim(self, entry_id: int, *, attempts: int, until: datetime) -> bool:
        """Start a delivery attempt of an undelivered row read with ``attempts`` attempts.

        Counts the attempt and moves ``next_attempt_at`` to ``until`` (a lease longer than a
        request can take) in one conditional UPDATE. Only one of several workers reading the
        same row wins it (``False`` for the others: the row was delivered, or another attempt
        was started, since they read it), so a push is never sent twice at the same time.
        If the claimer dies mid-request, the row is due again when the lease ends.
        """

        async def op(conn: AsyncConnection) -> bool:
            res = await conn.execute(
                update(OcpiOutbox)
                .where(
                    OcpiOutbox.id == entry_id,
                    OcpiOutbox.delivered_at.is_(None),
                    OcpiOutbox.attempts == attempts,
                )
                .values(attempts=attempts + 1, next_attempt_at=until)
            )
            return res.rowcount == 1

        return await self._write(op)

    async def mark_delivered(self, entry_id: int, *, now: datetime) -> None:
        """Record the successful delivery of a claimed row."""

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(
                update(OcpiOutbox)
                .where(OcpiOutbox.id == entry_id)
                .values(delivered_at=now, last_error=None)
            )

        await self._write(op)

    async def mark_failed(self, entry_id: int, *, error: str, retry_at: datetime) -> None:
        """Record the failure of a claimed row's attempt and when to retry."""

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(
                update(OcpiOutbox)
                .where(OcpiOutbox.id == entry_id)
                .values(last_error=error[:2000], next_attempt_at=retry_at)
            )

        await self._write(op)


def _outbox_row(entry: NewOutbox, now: datetime) -> dict[str, Any]:
    return {
        "partner_id": entry.partner_id,
        "method": entry.method,
        "module": entry.module,
        "target": entry.target,
        "body": entry.body,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
