"""OCPI tables on the shared declarative :class:`~kilowatt.storage.base.Base`.

- ``ocpi_partners``: one row per eMSP (or other party) we exchange data with, its
  registration state, the hashes of the credentials tokens *we* issued (A, then C) and the
  token *they* issued us (needed in clear to call them).
- ``ocpi_partner_endpoints``: the partner's module endpoints for the negotiated version.
- ``ocpi_tokens``: Token objects pushed by eMSPs (OCPI 2.2.1 ``mod_tokens`` receiver).
- ``ocpi_commands``: commands received, persisted until their CommandResult is queued.
- ``ocpi_outbox``: durable queue of requests to partners (pushes and CommandResults).

All datetimes are stored as aware UTC (``DateTime(timezone=True)``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kilowatt.storage.base import Base


class OcpiPartner(Base):
    """A party connected over OCPI (``credentials`` §Registration)."""

    __tablename__ = "ocpi_partners"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    """PENDING (token A issued) · REGISTERED · UNREGISTERED."""
    version: Mapped[str | None] = mapped_column(String(8), default=None)
    versions_url: Mapped[str | None] = mapped_column(Text, default=None)
    token_a_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    token_c_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    their_token: Mapped[str | None] = mapped_column(String(64), default=None)
    """The token the partner gave us (B or their C): we send it in ``Authorization``."""
    country_code: Mapped[str | None] = mapped_column(String(2), default=None)
    party_id: Mapped[str | None] = mapped_column(String(3), default=None)
    roles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    hub_party_id: Mapped[str | None] = mapped_column(String(5), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OcpiPartnerEndpoint(Base):
    """One endpoint of a partner (``version_information_endpoint`` §Endpoint class)."""

    __tablename__ = "ocpi_partner_endpoints"

    partner_id: Mapped[str] = mapped_column(
        ForeignKey("ocpi_partners.id", ondelete="CASCADE"), primary_key=True
    )
    identifier: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    url: Mapped[str] = mapped_column(Text)


class OcpiToken(Base):
    """A Token pushed by an eMSP; ``data`` is the canonical (2.3.0) JSON of the object."""

    __tablename__ = "ocpi_tokens"

    country_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(3), primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    partner_id: Mapped[str | None] = mapped_column(String(36), default=None)
    whitelist: Mapped[str] = mapped_column(String(16))
    valid: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_ocpi_tokens_uid", "uid"),)


class OcpiCommand(Base):
    """A received command: ``state`` PENDING until its CommandResult is in the outbox."""

    __tablename__ = "ocpi_commands"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(24))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    response_url: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="PENDING", index=True)
    """PENDING · RESOLVED."""
    result: Mapped[str | None] = mapped_column(String(24), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OcpiOutbox(Base):
    """One request to deliver to a partner, retried with exponential backoff until it succeeds.

    ``module`` set: ``target`` is a path appended to the partner's RECEIVER endpoint of that
    module (resolved at delivery time). ``module`` null: ``target`` is an absolute URL
    (``response_url`` of a command).
    """

    __tablename__ = "ocpi_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(String(36), index=True)
    method: Mapped[str] = mapped_column(String(8))
    module: Mapped[str | None] = mapped_column(String(32), default=None)
    target: Mapped[str] = mapped_column(Text)
    body: Mapped[Any] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


OCPI_TABLES = [
    OcpiPartner.__table__,
    OcpiPartnerEndpoint.__table__,
    OcpiToken.__table__,
    OcpiCommand.__table__,
    OcpiOutbox.__table__,
]
"""The tables this module owns (for ``metadata.create_all(tables=...)`` in tests)."""
