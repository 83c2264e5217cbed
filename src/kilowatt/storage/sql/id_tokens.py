"""The SQL of id tokens (SQLite, PostgreSQL).

Implements :class:`kilowatt.csms.repositories.IdTokenRepository`.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.csms.repositories import Row
from kilowatt.storage.database import Database
from kilowatt.storage.sql.common import insert, page
from kilowatt.storage.tables import id_tokens, transactions

__all__ = ["SqlIdTokenRepository"]


async def _get(conn: AsyncConnection, id_token: str) -> Row | None:
    query = select(id_tokens).where(id_tokens.c.id_token == id_token)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


class SqlIdTokenRepository:
    """Id tokens in the database of ``db`` (see the protocol
    :class:`~kilowatt.csms.repositories.IdTokenRepository`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, id_token: str) -> Row | None:
        """The token, or None."""
        async with self._db.read() as conn:
            return await _get(conn, id_token)

    async def page(self, *, limit: int, offset: int) -> tuple[list[Row], int]:
        """Tokens by value, and the total."""
        async with self._db.read() as conn:
            rows, total = await page(
                conn, select(id_tokens).order_by(id_tokens.c.id_token), limit, offset
            )
        return list(rows), total

    async def put(self, values: Row) -> bool:
        """Insert or replace (``created_at`` kept on replace); True when created."""
        changes = {k: v for k, v in values.items() if k not in {"id_token", "created_at"}}

        async def op(conn: AsyncConnection) -> bool:
            existed = await _get(conn, values["id_token"]) is not None
            stmt = insert(conn, id_tokens).values(**values)
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["id_token"], set_=changes)
            )
            return not existed

        return await self._db.write(op)

    async def delete(self, id_token: str) -> bool:
        """Delete; False when unknown."""

        async def op(conn: AsyncConnection) -> bool:
            result = await conn.execute(delete(id_tokens).where(id_tokens.c.id_token == id_token))
            return result.rowcount > 0

        return await self._db.write(op)

    async def active_transactions(
        self, id_token: str, *, exclude_transaction: int | None = None
    ) -> int:
        """Active transactions using the token, ``exclude_transaction`` not counted."""
        query = (
            select(func.count())
            .select_from(transactions)
            .where(transactions.c.id_token == id_token, transactions.c.status == "active")
        )
        if exclude_transaction is not None:
            query = query.where(transactions.c.id != exclude_transaction)
        async with self._db.read() as conn:
            return int(await conn.scalar(query) or 0)
