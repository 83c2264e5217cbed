"""``/transactions``: charging sessions and their meter values."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.fields import TransactionIdPath
from kilowatt.api.responses import JsonResponse, error, page
from kilowatt.api.schemas import MeterValueList, TransactionList, TransactionOut
from kilowatt.csms.model import TransactionInfo

__all__ = ["router", "transaction_json"]


def transaction_json(tx: TransactionInfo) -> dict[str, Any]:
    """The API shape of a transaction (the dataclass fields plus ``duration_s``)."""
    data = {f.name: getattr(tx, f.name) for f in dataclasses.fields(tx)}
    data["duration_s"] = tx.duration_s
    return data


def router(ctx: ApiContext) -> APIRouter:
    """The ``/transactions`` routes: list (newest first), read one, and its meter values.

    Energies in Wh as exact decimals, ``duration_s`` in s; an unknown transaction answers 404.
    """
    transactions = ctx.services.transactions
    api = APIRouter(prefix="/transactions", tags=["transactions"])
    not_found: dict[int | str, dict[str, Any]] = {404: error("Unknown transaction")}

    @api.get("", response_model=TransactionList, summary="List transactions, newest first")
    async def list_transactions(
        station_id: str | None = None,
        status: Literal["active", "completed"] | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> JsonResponse:
        result = await transactions.list(
            station_id=station_id, status=status, limit=limit, offset=offset
        )
        return page(result, transaction_json)

    @api.get("/{transaction_id}", response_model=TransactionOut, responses=not_found)
    async def get_transaction(transaction_id: TransactionIdPath) -> JsonResponse:
        return JsonResponse(transaction_json(await transactions.get(transaction_id)))

    @api.get("/{transaction_id}/meter-values", response_model=MeterValueList, responses=not_found)
    async def meter_values(
        transaction_id: TransactionIdPath, limit: Limit = 100, offset: Offset = 0
    ) -> JsonResponse:
        """Sampled values by time (measurand, phase, unit, context, location, exact value)."""
        return page(await transactions.meter_values(transaction_id, limit=limit, offset=offset))

    return api
