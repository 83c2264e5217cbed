"""The OCPP 2.0.1 / 2.1 device model of a simulated charging station.

Components and variables follow OCPP 2.0.1 Part 2 Appendix 3 ("Standardized Components and
Variables"), limited to the ones a CSMS reads or writes in practice (OCPPCommCtrlr,
SampledDataCtrlr, AlignedDataCtrlr, AuthCtrlr, AuthCacheCtrlr, TxCtrlr, SmartChargingCtrlr,
ReservationCtrlr, DeviceDataCtrlr, ClockCtrlr, SecurityCtrlr, ChargingStation, EVSE,
Connector). GetVariables/SetVariables answers follow B06/B05 (statuses UnknownComponent,
UnknownVariable, NotSupportedAttributeType, Rejected, RebootRequired); GetBaseReport follows
B07 (FullInventory, ConfigurationInventory, SummaryInventory).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AttributeType",
    "DataType",
    "DeviceModel",
    "GetStatus",
    "Mutability",
    "SetStatus",
    "Variable",
    "VariableKey",
]


class DataType(StrEnum):
    """DataEnumType of VariableCharacteristicsType."""

    STRING = "string"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "dateTime"
    BOOLEAN = "boolean"
    OPTION_LIST = "OptionList"
    SEQUENCE_LIST = "SequenceList"
    MEMBER_LIST = "MemberList"


class Mutability(StrEnum):
    """MutabilityEnumType of VariableAttributeType."""

    READ_ONLY = "ReadOnly"
    WRITE_ONLY = "WriteOnly"
    READ_WRITE = "ReadWrite"


class AttributeType(StrEnum):
    """AttributeEnumType: which value of a variable is meant (only Actual is modelled)."""

    ACTUAL = "Actual"
    TARGET = "Target"
    MIN_SET = "MinSet"
    MAX_SET = "MaxSet"


class GetStatus(StrEnum):
    """GetVariableStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    NOT_SUPPORTED_ATTRIBUTE_TYPE = "NotSupportedAttributeType"


class SetStatus(StrEnum):
    """SetVariableStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    NOT_SUPPORTED_ATTRIBUTE_TYPE = "NotSupportedAttributeType"
    REBOOT_REQUIRED = "RebootRequired"


@dataclass(frozen=True, slots=True)
class ComponentKey:
    """A component as GetVariables addresses it: name, instance, EVSE id and connector id."""

    name: str
    instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None


@dataclass(frozen=True, slots=True)
class VariableKey:
    """A variable of a component: the component plus the variable name and instance."""

    component: ComponentKey
    name: str
    instance: str | None = None


@dataclass(slots=True)
class Variable:
    """One variable with its Actual value (the wire string) and characteristics.

    ``minimum``/``maximum`` bound integer and decimal values (minLimit/maxLimit of the
    characteristics); ``values`` lists the allowed items of OptionList, MemberList and
    SequenceList variables (valuesList); ``unit`` is the unit of measure, e.g. "s" or "W".
    """

    key: VariableKey
    data_type: DataType
    mutability: Mutability
    value: str
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] | None = None
    unit: str | None = None
    reboot_required: bool = False
    max_length: int = 1000

    def validate(self, value: str) -> bool:
        """True when ``value`` is a valid Actual value (type, limits, list membership)."""
        if len(value) > self.max_length:
            return False
        t = self.data_type
        if t in (DataType.INTEGER, DataType.DECIMAL):
            try:
                number = int(value) if t is DataType.INTEGER else float(value)
            except ValueError:
                return False
            if self.minimum is not None and number < self.minimum:
                return False
            return self.maximum is None or number <= self.maximum
        if t is DataType.BOOLEAN:
            return value in ("true", "false")
        if t is DataType.OPTION_LIST:
            return self.values is None or value in self.values
        if t in (DataType.MEMBER_LIST, DataType.SEQUENCE_LIST):
            items = [item.strip() for item in value.split(",")] if value else []
            if len(set(items)) != len(items):
                return False
            return self.values is None or all(item in self.values for item in items)
        return True


MEASURANDS_2X = (
    "Current.Import", "Current.Offered", "Energy.Active.Import.Register",
    "Energy.Active.Import.Interval", "Frequency", "Power.Active.Import", "Power.Offered",
    "Power.Factor", "SoC", "Voltage",
)  # fmt: skip
TX_POINTS = ("ParkingBayOccupancy", "EVConnected", "Authorized", "DataSigned", "PowerPathClosed",
             "EnergyTransfer")  # fmt: skip


class DeviceModel:
    """All components and variables of one simulated 2.x station.

    Args:
        evses: number of EVSEs (each gets EVSE and Connector components, one connector each).
        vendor, model: what BootNotification reports, also the ChargingStation variables.
        max_power_w: the EVSE power rating in W (EVSE.Power maxLimit).
    """

    def __init__(
        self,
        evses: int,
        *,
        vendor: str = "Kilowatt",
        model: str = "Simulator",
        max_power_w: float = 22000.0,
        security_profile: int = 0,
    ) -> None:
        self._vars: dict[VariableKey, Variable] = {}
        self._components: set[ComponentKey] = set()
        i, d, b, s = DataType.INTEGER, DataType.DECIMAL, DataType.BOOLEAN, DataType.STRING
        ml, sl, ol = DataType.MEMBER_LIST, DataType.SEQUENCE_LIST, DataType.OPTION_LIST
        ro, rw, wo = Mutability.READ_ONLY, Mutability.READ_WRITE, Mutability.WRITE_ONLY
        add = self._add
        add("OCPPCommCtrlr", "HeartbeatInterval", i, rw, "300", minimum=0, unit="s")
        add("OCPPCommCtrlr", "OfflineThreshold", i, rw, "60", minimum=0, unit="s")
        add("OCPPCommCtrlr", "MessageTimeout", i, ro, "30", var_instance="Default", unit="s")
        add("OCPPCommCtrlr", "MessageAttempts", i, rw, "3", var_instance="TransactionEvent",
            minimum=0)  # fmt: skip
        add("OCPPCommCtrlr", "MessageAttemptInterval", i, rw, "30",
            var_instance="TransactionEvent", minimum=0, unit="s")  # fmt: skip
        add("OCPPCommCtrlr", "NetworkConfigurationPriority", sl, rw, "0", values=("0", "1"))
        add("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", i, rw, "3", minimum=0)
        add("OCPPCommCtrlr", "ResetRetries", i, rw, "3", minimum=0)
        add("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", b, rw, "true")
        add("OCPPCommCtrlr", "WebSocketPingInterval", i, rw, "0", minimum=0, unit="s",
            reboot=True)  # fmt: skip
        add("OCPPCommCtrlr", "FileTransferProtocols", ml, ro, "HTTPS",
            values=("FTP", "FTPS", "HTTP", "HTTPS", "SFTP"))  # fmt: skip
        add("SampledDataCtrlr", "Enabled", b, rw, "true")
        add("SampledDataCtrlr", "TxUpdatedInterval", i, rw, "60", minimum=0, unit="s")
        add("SampledDataCtrlr", "TxUpdatedMeasurands", ml, rw,
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC",
            values=MEASURANDS_2X)  # fmt: skip
        add("SampledDataCtrlr", "TxStartedMeasurands", ml, rw, "Energy.Active.Import.Register",
            values=MEASURANDS_2X)  # fmt: skip
        add("SampledDataCtrlr", "TxEndedMeasurands", ml, rw, "Energy.Active.Import.Register",
            values=MEASURANDS_2X)  # fmt: skip
        add("SampledDataCtrlr", "TxEndedInterval", i, rw, "0", minimum=0, unit="s")
        add("AlignedDataCtrlr", "Enabled", b, rw, "false")
        add("AlignedDataCtrlr", "Interval", i, rw, "900", minimum=0, unit="s")
        add("AlignedDataCtrlr", "Measurands", ml, rw, "Energy.Active.Import.Register",
            values=MEASURANDS_2X)  # fmt: skip
        add("AlignedDataCtrlr", "TxEndedInterval", i, rw, "0", minimum=0, unit="s")
        add("AlignedDataCtrlr", "TxEndedMeasurands", ml, rw, "Energy.Active.Import.Register",
            values=MEASURANDS_2X)  # fmt: skip
        add("AuthCtrlr", "Enabled", b, rw, "true")
        add("AuthCtrlr", "AuthorizeRemoteStart", b, rw, "true")
        add("AuthCtrlr", "LocalAuthorizeOffline", b, rw, "true")
        add("AuthCtrlr", "LocalPreAuthorize", b, rw, "false")
        add("AuthCtrlr", "OfflineTxForUnknownIdEnabled", b, rw, "false")
        add("AuthCacheCtrlr", "Enabled", b, rw, "true")
        add("AuthCacheCtrlr", "LifeTime", i, rw, "86400", minimum=0, unit="s")
        add("LocalAuthListCtrlr", "Enabled", b, rw, "true")
        add("LocalAuthListCtrlr", "Entries", i, ro, "0")
        add("TxCtrlr", "EVConnectionTimeOut", i, rw, "60", minimum=0, unit="s")
        add("TxCtrlr", "StopTxOnEVSideDisconnect", b, rw, "true")
        add("TxCtrlr", "StopTxOnInvalidId", b, rw, "true")
        add("TxCtrlr", "MaxEnergyOnInvalidId", i, rw, "0", minimum=0, unit="Wh")
        add("TxCtrlr", "TxStartPoint", ml, rw, "PowerPathClosed", values=TX_POINTS)
        add("TxCtrlr", "TxStopPoint", ml, rw, "EVConnected,Authorized", values=TX_POINTS)
        add("SmartChargingCtrlr", "Enabled", b, rw, "true")
        add("SmartChargingCtrlr", "Available", b, ro, "true")
        add("SmartChargingCtrlr", "LimitChangeSignificance", d, rw, "10", minimum=0, unit="%")
        add("SmartChargingCtrlr", "PeriodsPerSchedule", i, ro, "24")
        add("SmartChargingCtrlr", "ProfileStackLevel", i, ro, "10")
        add("SmartChargingCtrlr", "RateUnit", ml, ro, "A,W", values=("A", "W"))
        add("SmartChargingCtrlr", "Entries", i, ro, "0", var_instance="ChargingProfiles")
        add("ReservationCtrlr", "Enabled", b, rw, "true")
        add("ReservationCtrlr", "Available", b, ro, "true")
        add("ReservationCtrlr", "NonEvseSpecific", b, ro, "false")
        add("DeviceDataCtrlr", "ItemsPerMessage", i, ro, "20", var_instance="GetReport")
        add("DeviceDataCtrlr", "ItemsPerMessage", i, ro, "20", var_instance="GetVariables")
        add("DeviceDataCtrlr", "ItemsPerMessage", i, ro, "20", var_instance="SetVariables")
        add("DeviceDataCtrlr", "BytesPerMessage", i, ro, "65000", var_instance="GetReport")
        add("ClockCtrlr", "DateTime", DataType.DATETIME, ro, "")
        add("ClockCtrlr", "TimeSource", sl, rw, "Heartbeat",
            values=("Heartbeat", "NTP", "GPS", "RealTimeClock", "MobileNetwork"))  # fmt: skip
        add("SecurityCtrlr", "SecurityProfile", i, ro, str(security_profile))
        add("SecurityCtrlr", "OrganizationName", s, rw, "Kilowatt")
        add("SecurityCtrlr", "BasicAuthPassword", s, wo, "", max_length=40)
        add("ChargingStation", "Model", s, ro, model)
        add("ChargingStation", "VendorName", s, ro, vendor)
        add("ChargingStation", "Available", b, ro, "true")
        add("ChargingStation", "AvailabilityState", ol, ro, "Available",
            values=("Available", "Occupied", "Reserved", "Unavailable", "Faulted"))  # fmt: skip
        for evse in range(1, evses + 1):
            add("EVSE", "Available", b, ro, "true", evse_id=evse)
            add("EVSE", "AvailabilityState", ol, ro, "Available", evse_id=evse,
                values=("Available", "Occupied", "Reserved", "Unavailable", "Faulted"))  # fmt: skip
            add("EVSE", "Power", d, ro, "0", evse_id=evse, maximum=max_power_w, unit="W")
            add("EVSE", "SupplyPhases", i, ro, "3", evse_id=evse)
            add("Connector", "Available", b, ro, "true", evse_id=evse, connector_id=1)
            add("Connector", "AvailabilityState", ol, ro, "Available", evse_id=evse,
                connector_id=1,
                values=("Available", "Occupied", "Reserved", "Unavailable", "Faulted"))  # fmt: skip
            add("Connector", "ConnectorType", s, ro, "cType2", evse_id=evse, connector_id=1)

    def _add(
        self,
        component: str,
        variable: str,
        data_type: DataType,
        mutability: Mutability,
        value: str,
        *,
        var_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        values: tuple[str, ...] | None = None,
        unit: str | None = None,
        reboot: bool = False,
        max_length: int = 1000,
    ) -> None:
        comp = ComponentKey(component, None, evse_id, connector_id)
        key = VariableKey(comp, variable, var_instance)
        self._components.add(comp)
        self._vars[key] = Variable(
            key, data_type, mutability, value, minimum, maximum, values, unit, reboot, max_length
        )

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._vars.values())

    def __len__(self) -> int:
        return len(self._vars)

    def _lookup(self, key: VariableKey) -> Variable | GetStatus:
        if key.component not in self._components:
            return GetStatus.UNKNOWN_COMPONENT
        variable = self._vars.get(key)
        return GetStatus.UNKNOWN_VARIABLE if variable is None else variable

    def get(
        self, key: VariableKey, attribute: AttributeType | str = AttributeType.ACTUAL
    ) -> tuple[GetStatus, str | None]:
        """Answer one GetVariableData: ``(status, value)``; value is None unless Accepted.

        A WriteOnly variable (e.g. a password) is Rejected: its value is never reported.
        """
        found = self._lookup(key)
        if isinstance(found, GetStatus):
            return found, None
        if attribute != AttributeType.ACTUAL:
            return GetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE, None
        if found.mutability is Mutability.WRITE_ONLY:
            return GetStatus.REJECTED, None
        return GetStatus.ACCEPTED, found.value

    def set(
        self, key: VariableKey, value: str, attribute: AttributeType | str = AttributeType.ACTUAL
    ) -> SetStatus:
        """Answer one SetVariableData: ReadOnly variables and invalid values are Rejected."""
        found = self._lookup(key)
        if isinstance(found, GetStatus):
            return SetStatus(found.value)
        if attribute != AttributeType.ACTUAL:
            return SetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE
        if found.mutability is Mutability.READ_ONLY or not found.validate(value):
            return SetStatus.REJECTED
        found.value = value
        return SetStatus.REBOOT_REQUIRED if found.reboot_required else SetStatus.ACCEPTED

    def value(self, component: str, variable: str, instance: str | None = None) -> str:
        """The Actual value of a station-level variable (KeyError if unknown)."""
        return self._vars[VariableKey(ComponentKey(component), variable, instance)].value

    def int(self, component: str, variable: str, instance: str | None = None) -> int:
        """The Actual value of an integer station-level variable."""
        return int(self.value(component, variable, instance))

    def bool(self, component: str, variable: str) -> bool:
        """The Actual value of a boolean station-level variable."""
        return self.value(component, variable) == "true"

    def members(self, component: str, variable: str) -> list[str]:
        """The items of a MemberList/SequenceList station-level variable."""
        value = self.value(component, variable)
        return [item.strip() for item in value.split(",")] if value else []

    def update(self, key: VariableKey, value: str) -> None:
        """Set a value from inside the station (read-only variables included, e.g. Power)."""
        self._vars[key].value = value

    def report(self, base: str) -> list[Variable] | None:
        """The variables of a GetBaseReport ``base``, or None when the base is not supported.

        ConfigurationInventory holds the writable variables, SummaryInventory the availability
        of the station, EVSEs and connectors (B07), FullInventory everything.
        """
        if base == "FullInventory":
            return list(self._vars.values())
        if base == "ConfigurationInventory":
            return [v for v in self._vars.values() if v.mutability is not Mutability.READ_ONLY]
        if base == "SummaryInventory":
            return [v for v in self._vars.values() if v.key.name == "AvailabilityState"]
        return None
