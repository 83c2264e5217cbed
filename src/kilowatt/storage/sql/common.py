"""Helpers shared by the SQL repositories: dialect-specific INSERT and paged reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from kilowatt.csms.repositories import Row

__all__ = ["as_rows", "insert", "page"]


def insert(conn: AsyncConnection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT for the connection's dialect (both spell upserts the same way:
    ``on_conflict_do_nothing/do_update``, ``excluded``)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def as_rows(rows: Sequence[RowMapping]) -> list[Row]:
    """Result mappings as the repositories' :data:`~kilowatt.csms.repositories.Row` type (they
    are keyed by column name; SQLAlchemy types the keys more loosely)."""
    return cast(list[Row], list(rows))


async def page(
    conn: AsyncConnection, query: Select[Any], limit: int, offset: int
) -> tuple[list[Row], int]:
    """``limit`` rows of ``query`` from ``offset`` on, and how many rows it has in all."""
    total = await conn.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await conn.execute(query.limit(limit).offset(offset))).mappings().all()
    return as_rows(rows), int(total or 0)
