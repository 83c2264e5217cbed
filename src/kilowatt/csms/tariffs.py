"""Tariffs created by operators, stored in the OCPI shape (2.2.1/2.3.0 ``mod_tariffs``).

A tariff is a currency plus TariffElements, each a list of PriceComponents (``type`` ENERGY per
kWh, TIME per hour, PARKING_TIME per hour or FLAT per session; ``price``; ``vat`` percent;
``step_size`` Wh or s) and optional restrictions. ``tax_included`` (2.3.0) says whether prices
include taxes. The service keeps the JSON as given (prices as decimal strings, exact); the API
layer validates its shape. Which tariff applies to a connector: its location's ``tariff_id``,
else the default tariff (``is_default``, at most one), else none.

Events (after commit): :class:`TariffChanged` (``deleted`` when removed).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kilowatt.csms.clock import utcnow
from kilowatt.csms.errors import AlreadyExists, NotFound, ValidationError
from kilowatt.csms.events import DomainEvent, EventBus
from kilowatt.csms.locations import LocationChanged
from kilowatt.csms.model import Page, from_row
from kilowatt.csms.repositories import Row, TariffRepository

__all__ = ["TariffChanged", "TariffInfo", "TariffService"]

_FIELDS = (
    "currency",
    "type",
    "tax_included",
    "elements",
    "alt_text",
    "alt_url",
    "min_price",
    "max_price",
    "start_date_time",
    "end_date_time",
    "is_default",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TariffChanged(DomainEvent):
    """A tariff was created, changed or deleted (``station_id`` is always ``""``)."""

    tariff_id: str
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class TariffInfo:
    """A stored tariff.

    ``elements``: OCPI TariffElement objects (JSON); ``min_price`` / ``max_price``:
    ``{before_taxes, after_taxes?}``; ``alt_text``: DisplayText list.
    """

    id: str
    currency: str
    type: str | None
    tax_included: str
    elements: list[dict[str, Any]]
    alt_text: list[dict[str, Any]] | None
    alt_url: str | None
    min_price: dict[str, Any] | None
    max_price: dict[str, Any] | None
    start_date_time: datetime | None
    end_date_time: datetime | None
    is_default: bool
    created_at: datetime
    updated_at: datetime


def _check(values: Mapping[str, Any]) -> None:
    currency = values.get("currency")
    if currency is not None and (len(currency) != 3 or not currency.isalpha()):
        raise ValidationError("currency must be an ISO 4217 code, e.g. EUR")
    if "elements" in values and not values["elements"]:
        raise ValidationError("a tariff needs at least one element")
    if values.get("tax_included", "NO") not in ("YES", "NO", "N/A"):
        raise ValidationError("tax_included must be YES, NO or N/A")


class TariffService:
    """Operator management of tariffs and the choice of the tariff that applies."""

    def __init__(
        self,
        tariffs: TariffRepository,
        bus: EventBus,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Create the service over ``tariffs``, publishing TariffChanged on ``bus``.

        Args:
            tariffs: where tariffs live.
            bus: where :class:`TariffChanged` is published.
            clock: the current aware UTC time (``created_at``/``updated_at``, event times).
        """
        self._tariffs = tariffs
        self._bus = bus
        self._clock = clock

    def _changed(self, tariff_id: str, deleted: bool = False) -> None:
        self._bus.publish(
            TariffChanged(station_id="", at=self._clock(), tariff_id=tariff_id, deleted=deleted)
        )

    async def create(
        self, values: Mapping[str, Any], *, tariff_id: str | None = None
    ) -> TariffInfo:
        """Create a tariff. Raises AlreadyExists, ValidationError."""
        _check(values)
        if "currency" not in values or "elements" not in values:
            raise ValidationError("a tariff needs a currency and elements")
        tariff_id = tariff_id or str(uuid.uuid4())
        if len(tariff_id) > 36:
            raise ValidationError("tariff id has at most 36 characters (OCPI CiString(36))")
        now = self._clock()
        row = {name: values.get(name) for name in _FIELDS}
        row["tax_included"] = values.get("tax_included") or "NO"
        row["is_default"] = bool(values.get("is_default", False))
        row.update(id=tariff_id, created_at=now, updated_at=now)
        if not await self._tariffs.insert(row):
            raise AlreadyExists(f"tariff {tariff_id!r} already exists")
        self._changed(tariff_id)
        return await self.get(tariff_id)

    async def update(self, tariff_id: str, values: Mapping[str, Any]) -> TariffInfo:
        """Change the given fields. Raises NotFound, ValidationError."""
        await self.get(tariff_id)
        _check(values)
        changes = {k: v for k, v in values.items() if k in _FIELDS}
        changes["updated_at"] = self._clock()
        await self._tariffs.update(tariff_id, changes)
        self._changed(tariff_id)
        return await self.get(tariff_id)

    async def delete(self, tariff_id: str) -> None:
        """Delete a tariff; locations using it fall back to the default. Raises NotFound."""
        locations = await self._tariffs.delete(tariff_id)
        if locations is None:
            raise NotFound(f"tariff {tariff_id!r} not found")
        self._changed(tariff_id, deleted=True)
        for location_id in locations:
            self._bus.publish(
                LocationChanged(station_id="", at=self._clock(), location_id=location_id)
            )

    async def get(self, tariff_id: str) -> TariffInfo:
        """Raises NotFound."""
        row = await self._tariffs.get(tariff_id)
        if row is None:
            raise NotFound(f"tariff {tariff_id!r} not found")
        return _tariff(row)

    async def list(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
    ) -> Page[TariffInfo]:
        """Tariffs, oldest first; optional ``updated_at`` window [from, to)."""
        rows, total = await self._tariffs.page(
            limit=limit, offset=offset, updated_from=updated_from, updated_to=updated_to
        )
        return Page([_tariff(r) for r in rows], total)

    async def applicable(self, location_tariff_id: str | None) -> TariffInfo | None:
        """The tariff of a location (its own, else the default, else None)."""
        row = None
        if location_tariff_id is not None:
            row = await self._tariffs.get(location_tariff_id)
        if row is None:
            row = await self._tariffs.default()
        return _tariff(row) if row is not None else None


def _tariff(row: Row) -> TariffInfo:
    return from_row(TariffInfo, row, elements=list(row["elements"] or []))
