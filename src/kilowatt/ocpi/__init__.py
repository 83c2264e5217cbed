"""OCPI 2.2.1 and 2.3.0 for Kilowatt as CPO — usable on its own.

Layout:

- :mod:`.models` — wire objects (``common``, ``v221``, ``v230``; 2.3.0 is canonical);
  :mod:`.convert` — 2.3.0 ⇄ 2.2.1.
- :mod:`.envelope`, :mod:`.http`, :mod:`.pagination` — transport rules (Part I
  ``transport_and_format``, ``status_codes``).
- :mod:`.protocols` — what the CSMS implements: ``CpoBackend``, ``CommandExecutor``,
  ``Authenticator``.
- :mod:`.registration` (versions/credentials handshake), :mod:`.tokens`, :mod:`.commands`,
  :mod:`.outbox` (durable push), :mod:`.pricing` and :mod:`.cdrs` (priced CDRs).
- :mod:`.store` — SQLAlchemy repository over :mod:`kilowatt.storage.ocpi_models`.
- :mod:`.cpo` — :class:`OcpiCore` (store, client, tokens, outbox) and :class:`Ocpi` (the core
  plus registration and commands over a backend); neither builds its own storage.
- :mod:`.routes` (``/ocpi/...``) and :mod:`.operator` (``/api/v1/ocpi/partners``, and
  :func:`create_partner` for the CLI) — routers built from an :class:`Ocpi`.
- :mod:`.app` — :func:`create_ocpi_app`, the standalone application factory;
  :mod:`.memory` — in-memory reference backend.

Imports go one way: ``app`` → ``routes``/``operator`` → ``cpo`` → the services above.
"""

from kilowatt.ocpi.app import create_ocpi_app
from kilowatt.ocpi.cpo import Ocpi, OcpiCore
from kilowatt.ocpi.models.common import ModuleID, Role, VersionNumber
from kilowatt.ocpi.operator import build_operator_router, create_partner
from kilowatt.ocpi.protocols import (
    Authenticator,
    Caller,
    Command,
    CommandExecutor,
    CommandTimeout,
    CpoBackend,
    StationOffline,
)
from kilowatt.ocpi.routes import build_router
from kilowatt.ocpi.settings import OcpiSettings

__all__ = [
    "Authenticator",
    "Caller",
    "Command",
    "CommandExecutor",
    "CommandTimeout",
    "CpoBackend",
    "ModuleID",
    "Ocpi",
    "OcpiCore",
    "OcpiSettings",
    "Role",
    "StationOffline",
    "VersionNumber",
    "build_operator_router",
    "build_router",
    "create_ocpi_app",
    "create_partner",
]
