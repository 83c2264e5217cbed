"""``/id-tokens``: the tokens allowed to charge (1.6 idTag, 2.x IdToken)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from kilowatt.api.context import ApiContext, Limit, Offset
from kilowatt.api.responses import JsonResponse, error, page
from kilowatt.api.schemas import IdTokenList, IdTokenOut, IdTokenPut
from kilowatt.csms.model import IdTokenInput, TokenStatus

__all__ = ["IdTokenPath", "router"]

IdTokenPath = Annotated[
    str, Path(min_length=1, max_length=255, description="1.6 idTag / 2.x IdToken value")
]
"""An id token as stored: 1 to 255 characters (the ``id_tokens`` key column)."""


def router(ctx: ApiContext) -> APIRouter:
    """The ``/id-tokens`` routes (list, read, create or replace, delete) over the auth service.

    Unknown tokens answer 404; PUT answers 201 when it created the token, 200 when it replaced it.
    """
    auth = ctx.services.authorization
    api = APIRouter(prefix="/id-tokens", tags=["id tokens"])

    @api.get("", response_model=IdTokenList, summary="List id tokens")
    async def list_tokens(limit: Limit = 50, offset: Offset = 0) -> JsonResponse:
        return page(await auth.list(limit=limit, offset=offset))

    @api.get("/{id_token}", response_model=IdTokenOut, responses={404: error("Unknown id token")})
    async def get_token(id_token: str) -> JsonResponse:
        return JsonResponse(await auth.get(id_token))

    @api.put(
        "/{id_token}",
        response_model=IdTokenOut,
        responses={201: {"model": IdTokenOut, "description": "Created"}},
        summary="Create or replace an id token (201 when created, 200 when replaced)",
    )
    async def put_token(id_token: IdTokenPath, body: IdTokenPut) -> JsonResponse:
        info, created = await auth.put(
            id_token,
            IdTokenInput(
                status=TokenStatus(body.status),
                type=body.type,
                expiry=body.expiry,
                group_id=body.group_id,
                max_concurrent_transactions=body.max_concurrent_transactions,
            ),
        )
        return JsonResponse(info, status_code=201 if created else 200)

    @api.delete(
        "/{id_token}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses={404: error("Unknown id token")},
    )
    async def delete_token(id_token: str) -> Response:
        await auth.delete(id_token)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return api
