"""One configuration shape for 1.6 keys and 2.x device-model variables.

The version-neutral ``get-configuration`` / ``set-configuration`` commands name a setting by a
*key* string:

- on 1.6 it is the configuration key itself (``HeartbeatInterval``; OCPP 1.6 §9);
- on 2.x it is ``Component.Variable`` or ``Component.Variable.Attribute`` (attribute one of
  ``Actual`` (default), ``Target``, ``MinSet``, ``MaxSet``; OCPP 2.0.1 Part 2 §2 "Device model"),
  e.g. ``OCPPCommCtrlr.HeartbeatInterval``. A bare 1.6 key name is also accepted on 2.x and
  translated with :data:`KEY_ALIASES` onto the standardized components and variables of the
  OCPP 2.0.1 Part 2 appendices (only the well-known keys; others need the 2.x name).

Answers have the 1.6 shape on every version: ``{"configuration": [{"key", "value",
"readonly"}], "unknown": [key]}`` and ``{"status": Accepted|Rejected|RebootRequired|
NotSupported}``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ATTRIBUTES", "KEY_ALIASES", "VariableKey", "parse_key"]

ATTRIBUTES = ("Actual", "Target", "MinSet", "MaxSet")
"""2.0.1 AttributeEnumType."""

KEY_ALIASES: dict[str, tuple[str, str]] = {
    "HeartbeatInterval": ("OCPPCommCtrlr", "HeartbeatInterval"),
    "WebSocketPingInterval": ("OCPPCommCtrlr", "WebSocketPingInterval"),
    "ResetRetries": ("OCPPCommCtrlr", "ResetRetries"),
    "MeterValueSampleInterval": ("SampledDataCtrlr", "TxUpdatedInterval"),
    "MeterValuesSampledData": ("SampledDataCtrlr", "TxUpdatedMeasurands"),
    "StopTxnSampledData": ("SampledDataCtrlr", "TxEndedMeasurands"),
    "ClockAlignedDataInterval": ("AlignedDataCtrlr", "Interval"),
    "MeterValuesAlignedData": ("AlignedDataCtrlr", "Measurands"),
    "StopTxnAlignedData": ("AlignedDataCtrlr", "TxEndedMeasurands"),
    "ConnectionTimeOut": ("TxCtrlr", "EVConnectionTimeOut"),
    "StopTransactionOnEVSideDisconnect": ("TxCtrlr", "StopTxOnEVSideDisconnect"),
    "StopTransactionOnInvalidId": ("TxCtrlr", "StopTxOnInvalidId"),
    "MaxEnergyOnInvalidId": ("TxCtrlr", "MaxEnergyOnInvalidId"),
    "LocalAuthorizeOffline": ("AuthCtrlr", "LocalAuthorizeOffline"),
    "LocalPreAuthorize": ("AuthCtrlr", "LocalPreAuthorize"),
    "AuthorizeRemoteTxRequests": ("AuthCtrlr", "AuthorizeRemoteStart"),
    "AuthorizationCacheEnabled": ("AuthCacheCtrlr", "Enabled"),
    "LocalAuthListEnabled": ("LocalAuthListCtrlr", "Enabled"),
}
"""1.6 configuration key → 2.x (component, variable)."""


@dataclass(frozen=True, slots=True)
class VariableKey:
    """A parsed key: component, variable, attribute type, and the key text it came from."""

    component: str
    variable: str
    attribute: str
    key: str

    @property
    def canonical(self) -> str:
        """``Component.Variable`` (``.Attribute`` unless Actual)."""
        base = f"{self.component}.{self.variable}"
        return base if self.attribute == "Actual" else f"{base}.{self.attribute}"


def parse_key(key: str) -> VariableKey | None:
    """Parse a 2.x key (see module docstring); None when it names no variable."""
    if "." not in key:
        alias = KEY_ALIASES.get(key)
        return VariableKey(alias[0], alias[1], "Actual", key) if alias else None
    parts = key.split(".")
    if len(parts) == 2 and all(parts):
        return VariableKey(parts[0], parts[1], "Actual", key)
    if len(parts) == 3 and parts[0] and parts[1] and parts[2] in ATTRIBUTES:
        return VariableKey(parts[0], parts[1], parts[2], key)
    return None
