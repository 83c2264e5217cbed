"""Generate the typed OCPP messages (``kilowatt.ocpp.v16``/``v201``/``v21``) from the schemas.

Input: the official OCA JSON schemas shipped in the PyPI package ``ocpp`` (``ocpp/<v>/schemas``),
read at generation time only (they are CC BY-ND 4.0: nothing of them is copied into the repo but
the facts a parser needs: names, types and constraints).

Output per version: ``enums.py`` (StrEnum), ``datatypes.py`` and ``messages.py`` (msgspec Structs
derived from :class:`kilowatt.ocpp.codec.Payload`) and ``__init__.py`` (re-exports and
``ACTIONS``).

Naming scheme (checked for collisions; any surprise in the schemas stops the generator):

- messages: ``<Action>Request`` / ``<Action>Response`` (a 2.1 SEND-only action has a Request only);
- 2.x and 1.6-security definitions: ``FooEnumType`` -> ``Foo`` (enum), ``FooType`` -> ``Foo``;
- 1.6 inline objects: the property name in PascalCase (``meterValue`` -> ``MeterValue``); inline
  enums likewise (``measurand`` -> ``Measurand``), except the generic names ``status``, ``type``,
  ``reason`` and ``errorCode``, prefixed with the owner (``BootNotificationStatus``,
  ``IdTagInfoStatus``); structurally different types that would get one name are prefixed
  with the action name;
- fields: snake_case of the wire name, with the wire name given explicitly
  (``msgspec.field(name="chargePointVendor")``) whenever it differs;
- integers: :data:`kilowatt.ocpp.codec.Integer` (the 32-bit OCPP ``integer``, OCPP 2.0.1 Part 2
  §2.1), or ``Annotated[int, msgspec.Meta(ge=..., le=...)]`` where the schema bounds are tighter;
- enum members: UPPER_SNAKE of the value (``Energy.Active.Import.Register`` ->
  ``ENERGY_ACTIVE_IMPORT_REGISTER``, ``kWh`` -> ``K_WH``).

Usage: ``python scripts/generate_messages.py`` regenerates; ``--check`` exits 1 when the
committed files differ from what the schemas produce (``make check-generated``).
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "kilowatt" / "ocpp"

VERSIONS = {"v16": "1.6", "v201": "2.0.1", "v21": "2.1"}

# --- who sends the CALL of each action (the schemas do not say) --------------------------------
# Sources: OCPP 1.6 §4 (operations initiated by Charge Point) and §5 (by Central System), the
# 1.6 Security Whitepaper (edition 2) §4-5; OCPP 2.0.1 and 2.1 Part 2, the message direction in
# each use case. DataTransfer goes both ways in every version.

_CS_16 = """Authorize BootNotification DiagnosticsStatusNotification FirmwareStatusNotification
Heartbeat MeterValues StartTransaction StatusNotification StopTransaction LogStatusNotification
SecurityEventNotification SignCertificate SignedFirmwareStatusNotification"""
_CSMS_16 = """CancelReservation ChangeAvailability ChangeConfiguration ClearCache
ClearChargingProfile GetCompositeSchedule GetConfiguration GetDiagnostics GetLocalListVersion
RemoteStartTransaction RemoteStopTransaction ReserveNow Reset SendLocalList SetChargingProfile
TriggerMessage UnlockConnector UpdateFirmware CertificateSigned DeleteCertificate
ExtendedTriggerMessage GetInstalledCertificateIds GetLog InstallCertificate SignedUpdateFirmware"""
_CS_201 = """Authorize BootNotification ClearedChargingLimit FirmwareStatusNotification
Get15118EVCertificate GetCertificateStatus Heartbeat LogStatusNotification MeterValues
NotifyChargingLimit NotifyCustomerInformation NotifyDisplayMessages NotifyEVChargingNeeds
NotifyEVChargingSchedule NotifyEvent NotifyMonitoringReport NotifyReport
PublishFirmwareStatusNotification ReportChargingProfiles ReservationStatusUpdate
SecurityEventNotification SignCertificate StatusNotification TransactionEvent"""
_CSMS_201 = """CancelReservation CertificateSigned ChangeAvailability ClearCache
ClearChargingProfile ClearDisplayMessage ClearVariableMonitoring CostUpdated CustomerInformation
DeleteCertificate GetBaseReport GetChargingProfiles GetCompositeSchedule GetDisplayMessages
GetInstalledCertificateIds GetLocalListVersion GetLog GetMonitoringReport GetReport
GetTransactionStatus GetVariables InstallCertificate PublishFirmware RequestStartTransaction
RequestStopTransaction ReserveNow Reset SendLocalList SetChargingProfile SetDisplayMessage
SetMonitoringBase SetMonitoringLevel SetNetworkProfile SetVariableMonitoring SetVariables
TriggerMessage UnlockConnector UnpublishFirmware UpdateFirmware"""
_CS_21_NEW = """BatterySwap ClosePeriodicEventStream GetCertificateChainStatus NotifyDERAlarm
NotifyDERStartStop NotifyPeriodicEventStream NotifyPriorityCharging NotifySettlement
OpenPeriodicEventStream PullDynamicScheduleUpdate ReportDERControl VatNumberValidation"""
_CSMS_21_NEW = """AFRRSignal AdjustPeriodicEventStream ChangeTransactionTariff ClearDERControl
ClearTariffs GetDERControl GetPeriodicEventStream GetTariffs NotifyAllowedEnergyTransfer
NotifyWebPaymentStarted RequestBatterySwap SetDERControl SetDefaultTariff UpdateDynamicSchedule
UsePriorityCharging"""

INITIATORS: dict[str, dict[str, str]] = {}
for _v, _cs, _csms in (
    ("v16", _CS_16, _CSMS_16),
    ("v201", _CS_201, _CSMS_201),
    ("v21", _CS_201 + " " + _CS_21_NEW, _CSMS_201 + " " + _CSMS_21_NEW),
):
    _table = {a: "CHARGING_STATION" for a in _cs.split()}
    _table.update({a: "CSMS" for a in _csms.split()})
    _table["DataTransfer"] = "BOTH"
    INITIATORS[_v] = _table

# OCPP 2.1 Part 4 §4.6: actions carried in SEND frames (message type 6). The schema set has a
# request schema only for them; the generator checks that both facts agree.
SEND_ACTIONS = {"v21": {"NotifyPeriodicEventStream"}}

GENERIC_ENUM_FIELDS = {"status", "type", "reason", "errorCode"}

# OCPP 2.0.1 Part 2 §2.1 (primitive datatypes): ``integer`` is 32 bit, one sign bit. The same
# numbers as kilowatt.csms.limits and kilowatt.ocpp.codec (ocpp/ imports nothing outside itself).
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

# 1.6 energy registers (Wh): the 1.6 schemas give no width, a station's lifetime register passes
# 2^31 Wh (2.1 GWh) within a few years on a busy fast charger, and Kilowatt stores the value as
# exact decimal text. Refusing them would refuse the station's transactions, so they get 64 bits.
WIDE_INTEGERS = {("StartTransaction", "meterStart"), ("StopTransaction", "meterStop")}


def schema_dir() -> Path:
    """Locate the ``ocpp`` package's schemas without importing it (it imports jsonschema)."""
    for entry in sys.path:
        candidate = Path(entry) / "ocpp"
        if (candidate / "v16" / "schemas").is_dir():
            return candidate
    raise SystemExit("the `ocpp` package (dev dependency) is not installed")


# --- naming ------------------------------------------------------------------------------------


def snake(name: str) -> str:
    """``chargePointVendor`` -> ``charge_point_vendor``; ``EVCCID`` -> ``evccid``."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    s = re.sub(r"[^0-9a-z_]", "_", s)
    if keyword.iskeyword(s) or s in {"self"}:
        s += "_"
    return s


def pascal(name: str) -> str:
    """``meterValue`` -> ``MeterValue``."""
    return name[:1].upper() + name[1:]


def member_name(value: str) -> str:
    """Enum value -> UPPER_SNAKE member name."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", value)
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").upper()
    if not s or s[0].isdigit():
        s = "V_" + s
    return s


# --- model -------------------------------------------------------------------------------------


@dataclass
class EnumDef:
    name: str
    values: list[str]
    origin: str


@dataclass
class FieldDef:
    attr: str
    wire: str
    type_expr: str
    required: bool
    free_form: bool = False
    number_checks: list[tuple[str, dict[str, Decimal]]] = field(default_factory=list)


@dataclass
class StructDef:
    name: str
    fields: list[FieldDef]
    origin: str
    module: str  # "datatypes" | "messages"


@dataclass
class Model:
    version: str
    enums: dict[str, EnumDef] = field(default_factory=dict)
    structs: dict[str, StructDef] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # structural key -> name
    names: dict[str, str] = field(default_factory=dict)  # name -> structural key
    reserved: set[str] = field(default_factory=set)

    def claim(self, base: str, key: str, prefixes: list[str]) -> tuple[str, bool]:
        """Return (name, is_new) for a type with structural ``key``."""
        if key in self.keys:
            return self.keys[key], False
        for candidate in [base] + [p + base for p in prefixes]:
            if candidate in self.reserved:
                continue
            owner = self.names.get(candidate)
            if owner is None:
                self.names[candidate] = key
                self.keys[key] = candidate
                return candidate, True
            if owner == key:
                return candidate, False
        raise SystemExit(f"cannot name {base} ({key[:80]}...)")


def canonical(node: Any) -> str:
    def strip(n: Any) -> Any:
        if isinstance(n, dict):
            return {k: strip(v) for k, v in n.items() if k not in ("description", "javaType")}
        if isinstance(n, list):
            return [strip(x) for x in n]
        return n

    return json.dumps(strip(node), sort_keys=True)


class Builder:
    """Walks the schemas of one version and fills a :class:`Model`."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def message(self, action: str, cls_name: str, schema: dict[str, Any], file: str) -> None:
        self.schema = schema
        self.file = file
        self.action = action
        fields = self.fields(schema, cls_name)
        self.model.structs[cls_name] = StructDef(cls_name, fields, file, "messages")

    def deref(self, node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        ref = node.get("$ref")
        if ref is None:
            return node, None
        prefix = "#/definitions/"
        if not ref.startswith(prefix):
            raise SystemExit(f"{self.file}: unsupported $ref {ref}")
        name = ref[len(prefix) :]
        return self.schema["definitions"][name], name

    def fields(self, node: dict[str, Any], owner: str) -> list[FieldDef]:
        if node.get("type") != "object":
            raise SystemExit(f"{self.file}: {owner} is not an object")
        if node.get("additionalProperties") is not False:
            raise SystemExit(f"{self.file}: {owner} allows additional properties")
        props: dict[str, Any] = node.get("properties", {})
        required = node.get("required", [])
        unknown = set(required) - set(props)
        if unknown:
            raise SystemExit(f"{self.file}: {owner} requires undefined {unknown}")
        out: list[FieldDef] = []
        attrs: set[str] = set()
        for wire, prop in props.items():
            attr = snake(wire)
            if attr in attrs:
                raise SystemExit(f"{self.file}: {owner}.{attr} collides")
            attrs.add(attr)
            fd = FieldDef(attr, wire, "", wire in required)
            fd.type_expr = self.type_of(prop, wire, owner, fd)
            out.append(fd)
        return out

    def type_of(self, node: dict[str, Any], prop: str, owner: str, fd: FieldDef) -> str:
        node, def_name = self.deref(node)
        if "enum" in node:
            return self.enum(node, prop, owner, def_name)
        kind = node.get("type")
        if kind is None:
            fd.free_form = True
            return "Any"
        if kind == "object":
            if def_name == "CustomDataType":
                if canonical(node).count('"maxLength": 255') != 1:
                    raise SystemExit(f"{self.file}: unexpected CustomDataType")
                return "CustomData"
            return self.struct(node, prop, def_name)
        if kind == "string":
            fmt = node.get("format")
            meta = self.meta(node, {"maxLength": "max_length", "minLength": "min_length"})
            if fmt == "date-time":
                if meta:
                    raise SystemExit(f"{self.file}: constrained date-time {prop}")
                return "DateTime"
            if fmt not in (None, "uri"):
                raise SystemExit(f"{self.file}: unknown format {fmt}")
            return f"Annotated[str, msgspec.Meta({meta})]" if meta else "str"
        if kind == "integer":
            if "multipleOf" in node:
                raise SystemExit(f"{self.file}: integer multipleOf {prop}")
            return self.integer(node, prop)
        if kind == "number":
            checks = {}
            for key, arg in (("minimum", "ge"), ("maximum", "le"), ("multipleOf", "multiple_of")):
                if key in node:
                    checks[arg] = Decimal(repr(node[key]))
            if checks:
                fd.number_checks.append(("", checks))
            return "Number"
        if kind == "boolean":
            return "bool"
        if kind == "array":
            items = node["items"]
            if isinstance(items, list):
                raise SystemExit(f"{self.file}: tuple array {prop}")
            inner_fd = FieldDef("", "", "", True)
            inner = self.type_of(items, prop, owner, inner_fd)
            if inner_fd.free_form:
                raise SystemExit(f"{self.file}: free-form array items {prop}")
            for _, checks in inner_fd.number_checks:
                fd.number_checks.append(("item", checks))
            meta = self.meta(node, {"minItems": "min_length", "maxItems": "max_length"})
            return f"Annotated[list[{inner}], msgspec.Meta({meta})]" if meta else f"list[{inner}]"
        raise SystemExit(f"{self.file}: unknown type {kind} at {prop}")

    def integer(self, node: dict[str, Any], prop: str) -> str:
        """An integer field bounded to the OCPP ``integer`` type, or tighter where the schema is.

        OCPP 2.0.1 Part 2 §2.1: ``integer`` is 32 bit, one sign bit; Kilowatt applies it to 1.6
        and 2.1 too (their schemas give no width). A schema minimum/maximum inside that range
        wins. The bound that is the type's own is written as ``INT32_MIN``/``INT32_MAX`` (from
        :mod:`kilowatt.ocpp.codec`) so that the codec can tell a type violation from a
        property one.
        """
        if (self.action, prop) in WIDE_INTEGERS and not {"minimum", "maximum"} & set(node):
            return "Integer64"
        low = INT32_MIN
        high = INT32_MAX
        if "minimum" in node:
            low = max(low, self.integral(node["minimum"], "minimum"))
        if "maximum" in node:
            high = min(high, self.integral(node["maximum"], "maximum"))
        if low > high:
            raise SystemExit(f"{self.file}: {prop} has no 32-bit value")
        if (low, high) == (INT32_MIN, INT32_MAX):
            return "Integer"
        ge = "INT32_MIN" if low == INT32_MIN else repr(low)
        le = "INT32_MAX" if high == INT32_MAX else repr(high)
        return f"Annotated[int, msgspec.Meta(ge={ge}, le={le})]"

    def integral(self, value: Any, key: str) -> int:
        if int(value) != value:
            raise SystemExit(f"{self.file}: non-integral {key}")
        return int(value)

    def meta(self, node: dict[str, Any], keys: dict[str, str], *, integral: bool = True) -> str:
        parts = []
        for key, arg in keys.items():
            if key in node:
                value = node[key]
                if integral:
                    if int(value) != value:
                        raise SystemExit(f"{self.file}: non-integral {key}")
                    value = int(value)
                parts.append(f"{arg}={value!r}")
        return ", ".join(parts)

    def enum(self, node: dict[str, Any], prop: str, owner: str, def_name: str | None) -> str:
        if node.get("type") != "string":
            raise SystemExit(f"{self.file}: non-string enum {prop}")
        values = list(node["enum"])
        if def_name is not None:
            base = def_name.removesuffix("Type").removesuffix("Enum")
        elif prop in GENERIC_ENUM_FIELDS:
            base = owner.removesuffix("Request").removesuffix("Response") + pascal(prop)
        else:
            base = pascal(prop)
        key = f"enum:{base}:" + json.dumps(values)
        name, new = self.model.claim(base, key, self.prefixes())
        if new:
            members = [member_name(v) for v in values]
            if len(set(members)) != len(members):
                raise SystemExit(f"{self.file}: enum member collision in {name}")
            self.model.enums[name] = EnumDef(name, values, f"{self.file}: {owner}.{prop}")
        return name

    def prefixes(self) -> list[str]:
        return [self.action, self.action + self.file.removesuffix(".json")]

    def struct(self, node: dict[str, Any], prop: str, def_name: str | None) -> str:
        base = def_name.removesuffix("Type") if def_name is not None else pascal(prop)
        key = f"struct:{base}:" + canonical(node)
        name, new = self.model.claim(base, key, self.prefixes())
        if new:
            self.model.structs[name] = StructDef(name, [], self.file, "datatypes")
            self.model.structs[name].fields = self.fields(node, name)
        return name


def load(version: str) -> tuple[Model, list[tuple[str, str, str | None]]]:
    """Build the model of one version; return it and (action, request, response) names."""
    folder = schema_dir() / version / "schemas"
    files = sorted(p.name for p in folder.glob("*.json"))
    requests: dict[str, str] = {}
    responses: dict[str, str] = {}
    for name in files:
        stem = name.removesuffix(".json")
        if stem.endswith("Response"):
            responses[stem.removesuffix("Response")] = name
        elif version != "v16" and stem.endswith("Request"):
            requests[stem.removesuffix("Request")] = name
        elif version == "v16" or stem in SEND_ACTIONS.get(version, set()):
            requests[stem] = name
        else:
            raise SystemExit(f"{version}: unexpected schema file {name}")
    if set(responses) - set(requests):
        raise SystemExit(f"{version}: responses without request {set(responses) - set(requests)}")
    send_only = {a for a in requests if a not in responses}
    if send_only != SEND_ACTIONS.get(version, set()):
        raise SystemExit(f"{version}: request-only schemas {send_only} are not the SEND actions")
    actions = sorted(requests)
    if set(actions) != set(INITIATORS[version]):
        raise SystemExit(
            f"{version}: initiator table mismatch: missing "
            f"{set(actions) - set(INITIATORS[version])}, extra "
            f"{set(INITIATORS[version]) - set(actions)}"
        )
    model = Model(VERSIONS[version])
    table: list[tuple[str, str, str | None]] = []
    for action in actions:
        model.reserved.add(action + "Request")
        if action in responses:
            model.reserved.add(action + "Response")
    builder = Builder(model)
    for action in actions:
        req = action + "Request"
        builder.message(action, req, read(folder / requests[action]), requests[action])
        resp: str | None = None
        if action in responses:
            resp = action + "Response"
            builder.message(action, resp, read(folder / responses[action]), responses[action])
        table.append((action, req, resp))
    clash = set(model.enums) & set(model.structs)
    if clash:
        raise SystemExit(f"{version}: enum/struct name clash {clash}")
    return model, table


def read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8-sig") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


# --- emit --------------------------------------------------------------------------------------

HEADER = '''"""{doc}

Generated by ``scripts/generate_messages.py`` from the OCA OCPP {label} JSON schemas. Do not edit:
run ``make generate``.
"""

from __future__ import annotations
'''


def docstring(text: str, indent: str = "    ") -> str:
    """A class docstring wrapped to the 100-column limit."""
    body = textwrap.wrap(text, 100 - len(indent) - 6, break_long_words=False)
    if len(body) == 1 and len(indent) + len(body[0]) + 6 <= 100:
        return f'{indent}"""{body[0]}"""'
    return "\n".join([f'{indent}"""{body[0]}', *(indent + b for b in body[1:]), f'{indent}"""'])


def emit_enums(model: Model) -> str:
    out = [HEADER.format(doc=f"OCPP {model.version} enumerations.", label=model.version)]
    out.append("from enum import StrEnum\n")
    names = sorted(model.enums)
    out.append(f"__all__ = {names!r}\n")
    for name in names:
        e = model.enums[name]
        out.append(f"\nclass {name}(StrEnum):")
        out.append(docstring(f"OCPP {model.version} ``{name}`` (schema {e.origin}).") + "\n")
        for v in e.values:
            out.append(f"    {member_name(v)} = {v!r}")
        out.append("")
    return "\n".join(out) + "\n"


def struct_source(model: Model, s: StructDef) -> str:
    lines = [f"\nclass {s.name}(Payload, kw_only=True):"]
    if s.module == "messages":
        doc = f"OCPP {model.version} ``{s.name}`` payload (schema {s.origin})."
    else:
        doc = f"OCPP {model.version} ``{s.name}`` (first defined in schema {s.origin})."
    lines.append(docstring(doc) + "\n")
    ordered = s.fields  # schema order: kw_only Structs allow required after optional
    for f in ordered:
        kw = f'name="{f.wire}"' if f.attr != f.wire else ""
        if f.free_form:
            default = "msgspec.UNSET"
            annotation = "Any"
        elif f.required:
            default = ""
            annotation = f.type_expr
        else:
            default = "None"
            annotation = f"{f.type_expr} | None"
        if default and kw:
            value = f" = msgspec.field(default={default}, {kw})"
        elif kw:
            value = f" = msgspec.field({kw})"
        elif default:
            value = f" = {default}"
        else:
            value = ""
        lines.append(f"    {f.attr}: {annotation}{value}")
    checks = [(f, where, c) for f in s.fields for where, c in f.number_checks]
    if checks:
        lines.append("")
        lines.append("    def __post_init__(self) -> None:")
        lines.append('        """Check the schema bounds of the decimal fields."""')
        for f, where, c in checks:
            args = ", ".join(f'{k}=Decimal("{v}")' for k, v in c.items())
            if where == "item":
                lines.append(f"        for item in self.{f.attr} or ():")
                lines.append(f'            check_number(item, "{f.wire}", {args})')
            else:
                lines.append(f'        check_number(self.{f.attr}, "{f.wire}", {args})')
    return "\n".join(lines) + "\n"


def emit_structs(model: Model, module: str, pkg: str) -> str:
    names = sorted(n for n, s in model.structs.items() if s.module == module)
    body = "".join(struct_source(model, model.structs[n]) for n in names)
    title = "datatypes" if module == "datatypes" else "request and response payloads"
    out = [HEADER.format(doc=f"OCPP {model.version} {title}.", label=model.version)]
    std = []
    if "Decimal(" in body:
        std.append("from decimal import Decimal")
    typing_names = [n for n in ("Annotated", "Any") if re.search(rf"\b{n}\b", body)]
    if typing_names:
        std.append(f"from typing import {', '.join(typing_names)}")
    if std:
        out.append("\n".join(std) + "\n")
    out.append("import msgspec\n" if "msgspec." in body else "")
    codec_names = [
        n
        for n in (
            "INT32_MAX",
            "INT32_MIN",
            "CustomData",
            "DateTime",
            "Integer",
            "Integer64",
            "Number",
            "Payload",
            "check_number",
        )
        if re.search(rf"\b{n}\b", body)
    ]
    local = [f"from kilowatt.ocpp.codec import {', '.join(codec_names)}"]
    dt_names = sorted(
        n for n, s in model.structs.items() if s.module == "datatypes" and module == "messages"
    )
    dt_used = [n for n in dt_names if re.search(rf"\b{n}\b", body)]
    if dt_used:
        local.append(f"from kilowatt.ocpp.{pkg}.datatypes import {', '.join(dt_used)}")
    enum_used = [n for n in sorted(model.enums) if re.search(rf"\b{n}\b", body)]
    if enum_used:
        local.append(f"from kilowatt.ocpp.{pkg}.enums import {', '.join(enum_used)}")
    out.append("\n".join(local) + "\n")
    out.append(f"__all__ = {names!r}\n")
    return "\n".join(x for x in out if x) + body


def emit_init(model: Model, pkg: str, table: list[tuple[str, str, str | None]]) -> str:
    doc = (
        f"OCPP {model.version} typed messages: every request/response payload, datatype and enum, "
        f"and ``ACTIONS``."
    )
    out = [HEADER.format(doc=doc, label=model.version)]
    out.append("from kilowatt.ocpp.action import ActionSpec, Initiator")
    groups = {
        "datatypes": sorted(n for n, s in model.structs.items() if s.module == "datatypes"),
        "enums": sorted(model.enums),
        "messages": sorted(n for n, s in model.structs.items() if s.module == "messages"),
    }
    for mod, names in groups.items():
        if names:
            out.append(f"from kilowatt.ocpp.{pkg}.{mod} import {', '.join(names)}")
    exported = sorted(["ACTIONS", *(n for names in groups.values() for n in names)])
    out.append(f"\n__all__ = {exported!r}\n")
    out.append("ACTIONS: dict[str, ActionSpec] = {")
    for action, req, resp in table:
        initiator = INITIATORS[pkg][action]
        send = action in SEND_ACTIONS.get(pkg, set())
        response = resp if resp is not None else "type(None)"
        extra = ", send=True" if send else ""
        out.append(
            f'    "{action}": ActionSpec("{action}", {req}, {response}, '
            f"Initiator.{initiator}{extra}),"
        )
    out.append("}")
    out.append(
        '"""Every action of OCPP '
        + model.version
        + ": name -> request/response types, initiator, SEND flag."
        + ('"""' if pkg != "v21" else '\nSEND actions have no response type (``NoneType``)."""')
    )
    return "\n".join(out) + "\n"


def ruff_bin() -> str:
    candidate = Path(sys.executable).parent / "ruff"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("ruff")
    if found is None:
        raise SystemExit("ruff is needed to format the generated code")
    return found


def fmt(source: str, path: Path) -> str:
    ruff = ruff_bin()
    rel = str(path.relative_to(ROOT))
    fixed = subprocess.run(
        [ruff, "check", "--fix-only", "--exit-zero", "--quiet", "--stdin-filename", rel, "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return subprocess.run(
        [ruff, "format", "--quiet", "--stdin-filename", rel, "-"],
        input=fixed or source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def generate() -> dict[Path, str]:
    """Return the generated files: path -> formatted source."""
    files: dict[Path, str] = {}
    for pkg in VERSIONS:
        model, table = load(pkg)
        folder = OUT / pkg
        raw = {
            "enums.py": emit_enums(model),
            "datatypes.py": emit_structs(model, "datatypes", pkg),
            "messages.py": emit_structs(model, "messages", pkg),
            "__init__.py": emit_init(model, pkg, table),
        }
        for name, source in raw.items():
            files[folder / name] = fmt(source, folder / name)
    return files


def main(argv: list[str] | None = None) -> int:
    """Regenerate, or with ``--check`` compare with the files on disk (exit 1 on a difference)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = [p for p, src in files.items() if not p.exists() or p.read_text() != src]
        for pkg in VERSIONS:
            for extra in sorted((OUT / pkg).glob("*.py")):
                if extra not in files:
                    stale.append(extra)
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)}", file=sys.stderr)
        if stale:
            print("run `make generate`", file=sys.stderr)
            return 1
        return 0
    for path, source in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != source:
            path.write_text(source)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
