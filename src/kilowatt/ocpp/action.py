"""The description of one OCPP action: its name, request and response types, who initiates it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Initiator(StrEnum):
    """Which side sends the CALL of an action (OCPP 1.6 §3, OCPP 2.0.1 Part 2 per use case)."""

    CHARGING_STATION = "ChargingStation"
    CSMS = "CSMS"
    BOTH = "Both"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action of one OCPP version.

    ``request`` and ``response`` are the generated msgspec Struct types of the payloads.
    ``send`` is True for OCPP 2.1 actions carried in SEND frames (message type 6, no answer).
    """

    action: str
    request: type[Any]
    response: type[Any]
    initiator: Initiator
    send: bool = False
