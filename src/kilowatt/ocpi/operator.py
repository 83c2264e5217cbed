"""Operator entry points for the CLI (``kilowatt ocpi add-partner``) without a running server.

:func:`create_partner` opens the configured database (applying the Alembic migrations, which
include ``0002_ocpi``), creates the partner and its token A, and returns the text to print.
"""

from __future__ import annotations

from typing import Protocol

from kilowatt.ocpi.settings import utcnow
from kilowatt.ocpi.store import OcpiStore


class SettingsLike(Protocol):
    """The fields of :class:`kilowatt.config.Settings` used here."""

    @property
    def database_url(self) -> str:
        """SQLAlchemy async URL."""
        ...

    @property
    def public_url(self) -> str | None:
        """External base URL of the HTTP server."""
        ...


async def create_partner(settings: SettingsLike, *, name: str) -> str:
    """Create an OCPI partner; returns ``id``, ``token_a`` and ``versions_url`` lines.

    Give token A and the versions URL to the partner out of band; it registers with them.
    """
    from kilowatt.storage.database import Database

    db = Database(settings.database_url)
    try:
        await db.migrate()
        store = OcpiStore(db.engine, db.write)
        partner_id, token_a = await store.create_partner(name, now=utcnow())
    finally:
        await db.close()
    base = settings.public_url or f"http://127.0.0.1:{getattr(settings, 'http_port', 8000)}"
    versions_url = f"{base.rstrip('/')}/ocpi/versions"
    return f"id            {partner_id}\ntoken_a       {token_a}\nversions_url  {versions_url}"
