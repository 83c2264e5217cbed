"""Bridges between the CSMS core and protocol layers that must not know each other.

The only code that imports both :mod:`kilowatt.csms` and :mod:`kilowatt.ocpi`:

- :mod:`.ocpi_cpo` — :func:`install_ocpi`, the entry point of the composition root;
- :mod:`.ocpi_locations` / :mod:`.ocpi_view` — locations, stations, tariffs as OCPI objects;
- :mod:`.ocpi_sessions` / :mod:`.ocpi_state` — sessions and CDRs from transactions;
- :mod:`.ocpi_backend` — the CSMS as :class:`kilowatt.ocpi.CpoBackend`;
- :mod:`.ocpi_commands` — OCPI commands as OCPP calls (:class:`kilowatt.ocpi.CommandExecutor`);
- :mod:`.ocpi_authorizer` — eMSP tokens for OCPP authorization;
- :mod:`.ocpi_events` — CSMS events → OCPI pushes.
"""

from kilowatt.bridges.ocpi_cpo import OcpiHandle, install_ocpi

__all__ = ["OcpiHandle", "install_ocpi"]
