"""Roaming, CPO side: Kilowatt's stations offered to eMSPs over OCPI.

Named ``roaming`` because that is what it does for the operator: drivers of other mobility
providers (eMSPs) charge at our stations. It is the CPO half of roaming; :mod:`kilowatt.ocpi`
is the protocol (usable without the CSMS) and :mod:`kilowatt.csms` the domain, and neither
knows the other — this package is the only code that imports both:

- :mod:`.build` — :class:`RoamingConfig`, :func:`build_roaming` and the running
  :class:`Roaming`, which the composition root (``kilowatt.app``) builds;
- :mod:`.objects` / :mod:`.view` — locations, stations, tariffs as OCPI objects;
- :mod:`.sessions` / :mod:`.state` — sessions and CDRs from transactions, and the tables
  that link them;
- :mod:`.backend` — the CSMS as :class:`kilowatt.ocpi.CpoBackend`;
- :mod:`.commands` — OCPI commands as OCPP calls (:class:`kilowatt.ocpi.CommandExecutor`);
- :mod:`.authorizer` — eMSP tokens for OCPP authorization (the CSMS's remote authorizer);
- :mod:`.pump` — CSMS domain events → OCPI pushes.
"""

from kilowatt.roaming.authorizer import OcpiAuthorizer
from kilowatt.roaming.build import Roaming, RoamingConfig, build_roaming
from kilowatt.roaming.state import RoamingState

__all__ = ["OcpiAuthorizer", "Roaming", "RoamingConfig", "RoamingState", "build_roaming"]
