"""Conversion between the canonical 2.3.0 model and the 2.2.1 wire format.

Outbound (CPO → eMSP): canonical objects are dumped per the partner's negotiated version.
For 2.2.1, 2.3.0-only fields are dropped and ``Price{before_taxes, taxes[]}`` becomes
``Price{excl_vat, incl_vat}`` with ``incl_vat = before_taxes + Σ taxes.amount`` (only when
taxes are known). ``PriceLimit`` becomes ``Price`` the same way. The result is validated
against the 2.2.1 model before it leaves, so a 2.2.1 partner never sees a 2.3.0 shape.

Inbound (eMSP → CPO): 2.2.1 tokens and command requests are a subset of 2.3.0 and are read
with the 2.2.1 model, then lifted to the canonical one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from kilowatt.ocpi.models import v221, v230
from kilowatt.ocpi.models.common import OcpiModel, VersionNumber

_PRICE_FIELDS = (
    "total_cost",
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)

_V221_MODEL: dict[type[OcpiModel], type[OcpiModel]] = {
    v230.Location: v221.Location,
    v230.EVSE: v221.EVSE,
    v230.Connector: v221.Connector,
    v230.Session: v221.Session,
    v230.CDR: v221.CDR,
    v230.Tariff: v221.Tariff,
    v230.Token: v221.Token,
    v230.Credentials: v221.Credentials,
    v230.AuthorizationInfo: v221.AuthorizationInfo,
}


def price_to_v221(price: dict[str, Any]) -> dict[str, Any]:
    """2.3.0 ``Price``/``PriceLimit`` dict → 2.2.1 ``Price`` dict (``excl_vat``/``incl_vat``)."""
    if "excl_vat" in price:
        return price
    out: dict[str, Any] = {"excl_vat": price["before_taxes"]}
    if "after_taxes" in price:
        out["incl_vat"] = price["after_taxes"]
    elif price.get("taxes"):
        total = sum((Decimal(str(t["amount"])) for t in price["taxes"]), Decimal(0))
        total += Decimal(str(price["before_taxes"]))
        out["incl_vat"] = float(total) if total != total.to_integral_value() else int(total)
    return out


def _downgrade(obj: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a 2.3.0 JSON dict in place into its 2.2.1 shape (recursive, known fields only)."""
    for key in _PRICE_FIELDS:
        if isinstance(obj.get(key), dict):
            obj[key] = price_to_v221(obj[key])
    for key in ("min_price", "max_price"):
        if isinstance(obj.get(key), dict):
            obj[key] = price_to_v221(obj[key])
    for key in ("help_phone", "parking_places", "tax_included", "preauthorize_amount"):
        obj.pop(key, None)
    for evse in obj.get("evses") or []:
        evse.pop("parking", None)
        evse.pop("accepted_service_providers", None)
        for connector in evse.get("connectors") or []:
            connector.pop("capabilities", None)
    for connector in obj.get("connectors") or []:
        connector.pop("capabilities", None)
    if "uid" in obj and "connectors" in obj:
        obj.pop("parking", None)
        obj.pop("accepted_service_providers", None)
    if "capabilities" in obj and "power_type" in obj:
        obj.pop("capabilities", None)
    obj.pop("hub_party_id", None)
    for tariff in obj.get("tariffs") or []:
        _downgrade(tariff)
    return obj


def to_wire(obj: OcpiModel, version: VersionNumber | str) -> dict[str, Any]:
    """Serialise a canonical (2.3.0) object for a partner speaking ``version``.

    Returns the JSON-ready dict with optional fields omitted. For 2.2.1 the dict is checked
    against the 2.2.1 model of the same object (raises :class:`pydantic.ValidationError` on a
    value 2.2.1 cannot carry, e.g. an ``EMAID`` token type).
    """
    data = obj.to_wire()
    if VersionNumber(version) is VersionNumber.V2_3_0:
        return data
    data = _downgrade(data)
    target = _V221_MODEL.get(type(obj))
    if target is not None:
        return target.model_validate(data).to_wire()
    return data


M = TypeVar("M", bound=BaseModel)


def from_wire(data: Any, model: type[M], version: VersionNumber | str) -> M:
    """Read an inbound JSON object into the canonical ``model``, validating per ``version``.

    For 2.2.1 the object is first validated with the 2.2.1 twin of ``model`` (so a 2.2.1
    partner cannot send 2.3.0-only values), then lifted into the 2.3.0 model.
    """
    if VersionNumber(version) is VersionNumber.V2_2_1:
        twins: dict[type[BaseModel], type[BaseModel]] = {
            v230.Token: v221.Token,
            v230.StartSession: v221.StartSession,
            v230.ReserveNow: v221.ReserveNow,
            v230.Credentials: v221.Credentials,
        }
        twin = twins.get(model)
        if twin is not None:
            data = twin.model_validate(data).model_dump(mode="json", exclude_none=True)
    return model.model_validate(data)
