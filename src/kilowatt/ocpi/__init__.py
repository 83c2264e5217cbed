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
- :mod:`.app` — :class:`Ocpi` (composition) and :func:`create_ocpi_app` (factory);
  :mod:`.memory` — in-memory reference backend.
"""

from kilowatt.ocpi.app import Ocpi, create_ocpi_app
from kilowatt.ocpi.models.common import ModuleID, Role, VersionNumber
from kilowatt.ocpi.operator import create_partner
from kilowatt.ocpi.protocols import (
    Authenticator,
    Caller,
    Command,
    CommandExecutor,
    CommandTimeout,
    CpoBackend,
    StationOffline,
)
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
    "OcpiSettings",
    "Role",
    "StationOffline",
    "VersionNumber",
    "create_ocpi_app",
    "create_partner",
]
