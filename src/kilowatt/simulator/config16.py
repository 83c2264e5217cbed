"""The OCPP 1.6 configuration store: standard keys, read-only flags and value validation.

Source: OCPP 1.6 edition 2 §9 "Standard Configuration Key Names & Values" (§9.1 Core, §9.2 Local
Auth List Management, §9.3 Reservation, §9.4 Smart Charging) and §5.3/§5.8 for the answers to
ChangeConfiguration.req and GetConfiguration.req.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["MEASURANDS", "ConfigKey", "ConfigStatus", "ConfigStore", "KeyType"]

MEASURANDS: frozenset[str] = frozenset(
    {
        "Current.Export", "Current.Import", "Current.Offered",
        "Energy.Active.Export.Register", "Energy.Active.Import.Register",
        "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
        "Energy.Active.Export.Interval", "Energy.Active.Import.Interval",
        "Energy.Reactive.Export.Interval", "Energy.Reactive.Import.Interval",
        "Frequency", "Power.Active.Export", "Power.Active.Import", "Power.Factor",
        "Power.Offered", "Power.Reactive.Export", "Power.Reactive.Import", "RPM", "SoC",
        "Temperature", "Voltage",
    }
)  # fmt: skip
"""OCPP 1.6 Measurand values (§7.31); the values a measurand CSL may hold."""

FEATURE_PROFILES = ("Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation",
                    "SmartCharging", "RemoteTrigger")  # fmt: skip


class KeyType(StrEnum):
    """How a key's value is written (§9: boolean, integer, CSL = comma separated list)."""

    BOOL = "boolean"
    INT = "integer"
    CSL = "CSL"
    STRING = "string"


class ConfigStatus(StrEnum):
    """ConfigurationStatus of ChangeConfiguration.conf (§7.18)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


@dataclass(slots=True)
class ConfigKey:
    """One configuration key and its current value (always kept as the wire string).

    ``minimum`` bounds integer keys (e.g. intervals in s may not be negative); ``members``
    restricts the items of a CSL key; ``max_items`` is the matching ``...MaxLength`` key.
    """

    name: str
    type: KeyType
    value: str
    readonly: bool = False
    minimum: int | None = None
    members: frozenset[str] | None = None
    max_items: int | None = None
    reboot_required: bool = False

    def validate(self, value: str) -> bool:
        """True when ``value`` is a well-formed value for this key."""
        if self.type is KeyType.BOOL:
            return value.lower() in ("true", "false")
        if self.type is KeyType.INT:
            try:
                number = int(value)
            except ValueError:
                return False
            return self.minimum is None or number >= self.minimum
        if self.type is KeyType.CSL:
            items = [item.strip() for item in value.split(",")] if value else []
            if self.max_items is not None and len(items) > self.max_items:
                return False
            return self.members is None or all(item in self.members for item in items)
        return len(value) <= 500  # CiString500Type, the value field of ChangeConfiguration.req


def _standard_keys(connectors: int) -> list[ConfigKey]:
    k = ConfigKey
    i, b, c = KeyType.INT, KeyType.BOOL, KeyType.CSL

    def measurands(name: str, value: str) -> ConfigKey:
        return ConfigKey(name, c, value, members=MEASURANDS, max_items=10)

    return [
        # §9.1 Core profile
        k("AllowOfflineTxForUnknownId", b, "false"),
        k("AuthorizationCacheEnabled", b, "true"),
        k("AuthorizeRemoteTxRequests", b, "true"),
        k("ClockAlignedDataInterval", i, "0", minimum=0),
        k("ConnectionTimeOut", i, "60", minimum=0),
        k("ConnectorPhaseRotation", c, "0.RST", max_items=connectors + 1),
        k("GetConfigurationMaxKeys", i, "100", readonly=True),
        k("HeartbeatInterval", i, "300", minimum=0),
        k("LocalAuthorizeOffline", b, "true"),
        k("LocalPreAuthorize", b, "false"),
        measurands("MeterValuesAlignedData", "Energy.Active.Import.Register"),
        k("MeterValuesAlignedDataMaxLength", i, "10", readonly=True),
        measurands(
            "MeterValuesSampledData",
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC",
        ),
        k("MeterValuesSampledDataMaxLength", i, "10", readonly=True),
        k("MeterValueSampleInterval", i, "60", minimum=0),
        k("MinimumStatusDuration", i, "0", minimum=0),
        k("NumberOfConnectors", i, str(connectors), readonly=True),
        k("ResetRetries", i, "3", minimum=0),
        k("StopTransactionOnEVSideDisconnect", b, "true"),
        k("StopTransactionOnInvalidId", b, "true"),
        measurands("StopTxnAlignedData", ""),
        measurands("StopTxnSampledData", "Energy.Active.Import.Register"),
        k("SupportedFeatureProfiles", c, ",".join(FEATURE_PROFILES), readonly=True),
        k("TransactionMessageAttempts", i, "3", minimum=0),
        k("TransactionMessageRetryInterval", i, "30", minimum=0),
        k("UnlockConnectorOnEVSideDisconnect", b, "true"),
        k("WebSocketPingInterval", i, "0", minimum=0, reboot_required=True),
        # §9.2 Local Auth List Management profile
        k("LocalAuthListEnabled", b, "true"),
        k("LocalAuthListMaxLength", i, "100", readonly=True),
        k("SendLocalListMaxLength", i, "100", readonly=True),
        # §9.3 Reservation profile
        k("ReserveConnectorZeroSupported", b, "false", readonly=True),
        # §9.4 Smart Charging profile
        k("ChargeProfileMaxStackLevel", i, "10", readonly=True),
        k("ChargingScheduleAllowedChargingRateUnit", c, "Current,Power", readonly=True),
        k("ChargingScheduleMaxPeriods", i, "24", readonly=True),
        k("ConnectorSwitch3to1PhaseSupported", b, "false", readonly=True),
        k("MaxChargingProfilesInstalled", i, "20", readonly=True),
    ]


class ConfigStore:
    """The configuration keys of one simulated 1.6 charge point.

    Args:
        connectors: the number of connectors (the read-only NumberOfConnectors key).
        overrides: initial values (key -> wire string), e.g. from a scenario; unknown keys are
            added as read-write string keys (vendor-specific keys, §9 allows them).

    The station reads its behaviour from here on every use, so a ChangeConfiguration.req
    takes effect at the next heartbeat or meter sample without any callback.
    """

    def __init__(self, connectors: int, overrides: dict[str, str] | None = None) -> None:
        self._keys: dict[str, ConfigKey] = {key.name: key for key in _standard_keys(connectors)}
        self._listeners: list[Callable[[str, str], None]] = []
        for name, value in (overrides or {}).items():
            key = self._keys.get(name)
            if key is None:
                self._keys[name] = ConfigKey(name, KeyType.STRING, value)
            elif not key.validate(value):
                raise ValueError(f"invalid value {value!r} for configuration key {name}")
            else:
                key.value = value

    def __contains__(self, name: object) -> bool:
        return name in self._keys

    def on_change(self, listener: Callable[[str, str], None]) -> None:
        """Call ``listener(key, value)`` after every accepted change."""
        self._listeners.append(listener)

    def get(self, names: Iterable[str] | None = None) -> tuple[list[ConfigKey], list[str]]:
        """Answer GetConfiguration.req: ``(known keys, unknown key names)``.

        Without ``names`` (or an empty list) every key is returned (§5.8).
        """
        wanted = list(names or ())
        if not wanted:
            return list(self._keys.values()), []
        known = [self._keys[n] for n in wanted if n in self._keys]
        unknown = [n for n in wanted if n not in self._keys]
        return known, unknown

    def change(self, name: str, value: str) -> ConfigStatus:
        """Answer ChangeConfiguration.req.

        NotSupported for an unknown key, Rejected for a read-only key or an invalid value,
        RebootRequired when the key only takes effect after a reboot (the value is stored).
        """
        key = self._keys.get(name)
        if key is None:
            return ConfigStatus.NOT_SUPPORTED
        if key.readonly or not key.validate(value):
            return ConfigStatus.REJECTED
        if key.type is KeyType.BOOL:
            value = value.lower()
        key.value = value
        for listener in self._listeners:
            listener(name, value)
        return ConfigStatus.REBOOT_REQUIRED if key.reboot_required else ConfigStatus.ACCEPTED

    def value(self, name: str) -> str:
        """The current wire value of ``name`` (KeyError if unknown)."""
        return self._keys[name].value

    def int(self, name: str) -> int:
        """The value of an integer key."""
        return int(self._keys[name].value)

    def bool(self, name: str) -> bool:
        """The value of a boolean key."""
        return self._keys[name].value == "true"

    def csl(self, name: str) -> list[str]:
        """The items of a comma separated list key (empty list for an empty value)."""
        value = self._keys[name].value
        return [item.strip() for item in value.split(",")] if value else []
