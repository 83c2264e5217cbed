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

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.responses import JsonResponse, page
from kilowatt.api.schemas import ErrorOut

__all__ = ["router"]

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceComponent(_In):
    type: Literal["ENERGY", "FLAT", "PARKING_TIME", "TIME"]
    price: Decimal = Field(ge=0, description="per kWh, per hour, or per session (FLAT)")
    vat: Decimal | None = Field(None, ge=0, description="percent")
    step_size: int = Field(1, ge=0, description="Wh (ENERGY) or s (TIME, PARKING_TIME)")


class Restrictions(_In):
    start_time: str | None = Field(None, pattern=_HHMM)
    end_time: str | None = Field(None, pattern=_HHMM)
    start_date: str | None = Field(None, pattern=_DATE)
    end_date: str | None = Field(None, pattern=_DATE)
    min_kwh: Decimal | None = Field(None, ge=0)
    max_kwh: Decimal | None = Field(None, ge=0)
    min_current: Decimal | None = Field(None, ge=0)
    max_current: Decimal | None = Field(None, ge=0)
    min_power: Decimal | None = Field(None, ge=0)
    max_power: Decimal | None = Field(None, ge=0)
    min_duration: int | None = Field(None, ge=0)
    max_duration: int | None = Field(None, ge=0)
    day_of_week: (
        list[Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]]
        | None
    ) = None
    reservation: Literal["RESERVATION", "RESERVATION_EXPIRES"] | None = None


class Element(_In):
    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: Restrictions | None = None


class DisplayText(_In):
    language: str = Field(min_length=2, max_length=2)
    text: str = Field(max_length=512)


class PriceLimit(_In):
    before_taxes: Decimal = Field(ge=0)
    after_taxes: Decimal | None = Field(None, ge=0)


TariffType = Literal["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"]


class TariffBody(_In):
    """Fields of a tariff (POST: ``currency`` and ``elements`` required; PATCH: any)."""

    currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217")
    type: TariffType | None = None
    tax_included: Literal["YES", "NO", "N/A"] | None = None
    elements: list[Element] | None = Field(None, min_length=1)
    alt_text: list[DisplayText] | None = None
    alt_url: str | None = None
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    is_default: bool | None = Field(None, description="Applies where a location has none")


class TariffCreate(TariffBody):
    id: str | None = Field(None, min_length=1, max_length=36, description="Generated if absent")


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
    errors: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}

    @api.get("", summary="List tariffs (oldest first)")
    async def list_tariffs(limit: Limit = 50, offset: Offset = 0) -> JsonResponse:
        return page(await tariffs.list(limit=limit, offset=offset))

    @api.post(
        "",
        status_code=status.HTTP_201_CREATED,
        responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
        summary="Create a tariff",
    )
    async def create_tariff(body: TariffCreate) -> JsonResponse:
        if body.currency is None or body.elements is None:
            return JsonResponse({"detail": "currency and elements are required"}, 422)
        info = await tariffs.create(_values(body), tariff_id=body.id)
        return JsonResponse(info, status_code=status.HTTP_201_CREATED)

    @api.get("/{tariff_id}", responses=errors)
    async def get_tariff(tariff_id: str) -> JsonResponse:
        return JsonResponse(await tariffs.get(tariff_id))

    @api.patch("/{tariff_id}", responses=errors)
    async def patch_tariff(tariff_id: str, body: TariffBody) -> JsonResponse:
        """Change the given fields; the new version is pushed to OCPI partners."""
        values = _values(body)
        for required in ("currency", "elements", "tax_included", "is_default"):
            if required in values and values[required] is None:
                return JsonResponse({"detail": f"{required} cannot be null"}, 422)
        return JsonResponse(await tariffs.update(tariff_id, values))

    @api.delete("/{tariff_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors)
    async def delete_tariff(tariff_id: str) -> None:
        """Delete a tariff; locations using it fall back to the default tariff."""
        await tariffs.delete(tariff_id)

    return api
