"""Kilowatt: an open-source charging station management system (CSMS).

Chargers speak OCPP-J 1.6, 2.0.1 and 2.1 to it; operators use its REST API and CLI;
eMSPs reach it over OCPI 2.2.1 and 2.3.0. The OCPP toolkit lives in :mod:`kilowatt.ocpp`
(sans-I/O) and :mod:`kilowatt.transport` (asyncio, websockets).
"""

__version__ = "0.1.0"
