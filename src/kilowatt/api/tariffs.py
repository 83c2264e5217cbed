"""``/tariffs``: prices in the OCPI shape (2.2.1/2.3.0 ``mod_tariffs``).

A tariff has a ``currency`` (ISO 4217) and ``elements``; each element has ``price_components``
(``type`` ENERGY — price per kWh, ``step_size`` in Wh; TIME and PARKING_TIME — per hour,
``step_size`` in s; FLAT — per session) and optional ``restrictions`` (times ``HH:MM`` and
dates ``YYYY-MM-DD`` in the location's time zone, kWh, A, kW, durations in s, weekdays).
``tax_included`` (2.3.0): ``YES`` when prices include taxes, ``NO`` (default), ``N/A``.
``vat`` is a percentage. Prices are exact decimals (returned as strings).

Which tariff applies: the location's ``tariff_id``, else the tariff with ``is_default``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.fields import NonNegativeInt32, Timestamp, bounded_decimal, omittable
from kilowatt.api.responses import JsonResponse, error, page

__all__ = ["router"]

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


Price = Annotated[Decimal, bounded_decimal(9, 6, "A price in the tariff's currency")]
"""A price: 0 to below 10^9, 6 decimals (OCPI prices carry 4)."""
Percent = Annotated[Decimal, bounded_decimal(3, 4, "Percent")]
"""A VAT rate in percent: 0 to below 1000, 4 decimals."""
Quantity = Annotated[Decimal, bounded_decimal(9, 6, "kWh, A or kW")]
"""A restriction's energy (kWh), current (A) or power (kW): 0 to below 10^9, 6 decimals."""
Count = NonNegativeInt32
"""A non-negative 32-bit count: Wh or s steps, durations in s."""
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217, e.g. EUR")]
"""An ISO 4217 currency code."""


class PriceComponent(_In):
    """OCPI PriceComponent: a price per kWh, per hour or per session, with VAT and steps."""

    type: Literal["ENERGY", "FLAT", "PARKING_TIME", "TIME"]
    price: Price = Field(description="per kWh, per hour, or per session (FLAT)")
    vat: Percent | None = Field(None, description="percent")
    step_size: Count = Field(1, description="Wh (ENERGY) or s (TIME, PARKING_TIME)")


class Restrictions(_In):
    """OCPI TariffRestrictions: when an element applies (local times, kWh, A, kW, s)."""

    start_time: str | None = Field(None, pattern=_HHMM)
    end_time: str | None = Field(None, pattern=_HHMM)
    start_date: str | None = Field(None, pattern=_DATE)
    end_date: str | None = Field(None, pattern=_DATE)
    min_kwh: Quantity | None = None
    max_kwh: Quantity | None = None
    min_current: Quantity | None = None
    max_current: Quantity | None = None
    min_power: Quantity | None = None
    max_power: Quantity | None = None
    min_duration: Count | None = Field(None, description="s")
    max_duration: Count | None = Field(None, description="s")
    day_of_week: (
        list[Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]]
        | None
    ) = None
    reservation: Literal["RESERVATION", "RESERVATION_EXPIRES"] | None = None


class Element(_In):
    """OCPI TariffElement: price components and the restrictions under which they apply."""

    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: Restrictions | None = None


class DisplayText(_In):
    """OCPI DisplayText: a text in one language (ISO 639-1)."""

    language: str = Field(min_length=2, max_length=2)
    text: str = Field(max_length=512)


class PriceLimit(_In):
    """OCPI 2.3.0 Price: a minimum or maximum session price, before and after taxes."""

    before_taxes: Price
    after_taxes: Price | None = None


TariffType = Literal["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"]


class TariffBody(_In):
    """Fields of a tariff (POST: ``currency`` and ``elements`` required; PATCH: any)."""

    currency: Currency = omittable()
    type: TariffType | None = None
    tax_included: Literal["YES", "NO", "N/A"] = omittable()
    elements: list[Element] = omittable(min_length=1)
    alt_text: list[DisplayText] | None = None
    alt_url: str | None = Field(None, max_length=2048)
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    start_date_time: Timestamp | None = None
    end_date_time: Timestamp | None = None
    is_default: StrictBool = omittable(description="Applies where a location has none")


class TariffCreate(TariffBody):
    """Body of ``POST /tariffs``: ``currency`` and ``elements`` required."""

    id: str = omittable(min_length=1, max_length=36, description="Generated if absent")
    currency: Currency
    elements: list[Element] = Field(min_length=1)


def _values(body: TariffBody) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True, exclude={"id"})
    for name in ("elements", "alt_text", "min_price", "max_price"):
        value = getattr(body, name)
        if name in data:
            # JSON mode keeps decimals exact as strings; omitted fields stay omitted.
            data[name] = (
                None
                if value is None
                else (
                    [v.model_dump(mode="json", exclude_none=True) for v in value]
                    if isinstance(value, list)
                    else value.model_dump(mode="json", exclude_none=True)
                )
            )
    return data


def router(ctx: ApiContext) -> APIRouter:
    """The ``/tariffs`` routes: list, create, read, change and delete (shapes: module docstring).

    An unknown tariff answers 404, a body that does not fit 422, an id that exists 409.
    """
    tariffs = ctx.services.tariffs
    api = APIRouter(prefix="/tariffs", tags=["tariffs"])
    not_found: dict[int | str, dict[str, Any]] = {404: error("Unknown tariff")}

    @api.get("", summary="List tariffs (oldest first)")
    async def list_tariffs(limit: Limit = 50, offset: Offset = 0) -> JsonResponse:
        return page(await tariffs.list(limit=limit, offset=offset))

    @api.post(
        "",
        status_code=status.HTTP_201_CREATED,
        responses={409: error("A tariff with this id exists")},
        summary="Create a tariff",
    )
    async def create_tariff(body: TariffCreate) -> JsonResponse:
        info = await tariffs.create(_values(body), tariff_id=body.id)
        return JsonResponse(info, status_code=status.HTTP_201_CREATED)

    @api.get("/{tariff_id}", responses=not_found)
    async def get_tariff(tariff_id: str) -> JsonResponse:
        return JsonResponse(await tariffs.get(tariff_id))

    @api.patch("/{tariff_id}", responses=not_found)
    async def patch_tariff(tariff_id: str, body: TariffBody) -> JsonResponse:
        """Change the given fields; the new version is pushed to OCPI partners."""
        values = _values(body)
        return JsonResponse(await tariffs.update(tariff_id, values))

    @api.delete("/{tariff_id}", status_code=status.HTTP_204_NO_CONTENT, responses=not_found)
    async def delete_tariff(tariff_id: str) -> None:
        """Delete a tariff; locations using it fall back to the default tariff."""
        await tariffs.delete(tariff_id)

    return api
