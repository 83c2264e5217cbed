"""Pagination of list GETs (OCPI 2.2.1 Part I ``transport_and_format`` §Pagination).

Request parameters: ``date_from`` (inclusive) and ``date_to`` (exclusive) on ``last_updated``,
``offset`` (default 0) and ``limit`` (capped by the server). Response headers: ``X-Total-Count``
(all matches, ignoring offset/limit), ``X-Limit`` (the server's effective upper limit) and,
when this is not the last page, ``Link: <url>; rel="next"`` keeping every other query
parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from urllib.parse import urlencode

from pydantic import TypeAdapter, ValidationError

from kilowatt.ocpi.envelope import OcpiError, StatusCode
from kilowatt.ocpi.models.common import DateTime, format_datetime

T = TypeVar("T")

_DT = TypeAdapter(DateTime)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A parsed paginated request: ``limit`` is already capped; datetimes are aware UTC."""

    offset: int = 0
    limit: int = 50
    date_from: datetime | None = None
    date_to: datetime | None = None
    parties: frozenset[tuple[str, str]] | None = None
    """The requesting eMSP's parties ``(country_code, party_id)``, upper case: sessions and
    CDRs are listed only when their ``cdr_token`` belongs to one of them (``None``: no filter,
    for internal callers; empty: nothing is visible)."""

    def visible(self, country_code: str, party_id: str) -> bool:
        """True when a token of ``country_code``/``party_id`` belongs to the requester."""
        return self.parties is None or (country_code.upper(), party_id.upper()) in self.parties

    def matches(self, last_updated: datetime) -> bool:
        """True when ``date_from <= last_updated < date_to``."""
        if self.date_from is not None and last_updated < self.date_from:
            return False
        return not (self.date_to is not None and last_updated >= self.date_to)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the total number of matches (for ``X-Total-Count``)."""

    items: list[T]
    total: int


def paginate(items: list[T], query: ListQuery) -> Page[T]:
    """Slice an already filtered, stably ordered list (helper for in-memory backends)."""
    return Page(items[query.offset : query.offset + query.limit], len(items))


def parse_query(params: dict[str, str], *, default_limit: int, max_limit: int) -> ListQuery:
    """Read ``offset``/``limit``/``date_from``/``date_to``; raise 2001 on malformed values."""
    try:
        offset = int(params.get("offset", "0"))
        limit = int(params.get("limit", str(default_limit)))
    except ValueError as exc:
        raise OcpiError(StatusCode.INVALID_PARAMETERS, "offset/limit must be integers") from exc
    if offset < 0 or limit < 0:
        raise OcpiError(StatusCode.INVALID_PARAMETERS, "offset/limit must not be negative")
    try:
        date_from = _DT.validate_python(params["date_from"]) if "date_from" in params else None
        date_to = _DT.validate_python(params["date_to"]) if "date_to" in params else None
    except ValidationError as exc:
        raise OcpiError(StatusCode.INVALID_PARAMETERS, "date_from/date_to not a DateTime") from exc
    return ListQuery(offset, min(limit, max_limit), date_from, date_to)


def page_headers(
    base_url: str, params: dict[str, str], query: ListQuery, page: Page[T], max_limit: int
) -> dict[str, str]:
    """``X-Total-Count``, ``X-Limit`` and, if more items follow, ``Link`` with ``rel="next"``.

    ``base_url`` is the endpoint URL without query; other query parameters (filters) are kept,
    ``offset`` advanced by the returned count and ``limit`` set to the effective limit.
    """
    headers = {"X-Total-Count": str(page.total), "X-Limit": str(min(query.limit, max_limit))}
    next_offset = query.offset + len(page.items)
    if page.items and next_offset < page.total:
        kept = {k: v for k, v in params.items() if k not in ("offset", "limit")}
        if query.date_from is not None:
            kept["date_from"] = format_datetime(query.date_from)
        if query.date_to is not None:
            kept["date_to"] = format_datetime(query.date_to)
        qs = urlencode({"offset": next_offset, "limit": query.limit, **kept}, safe=":")
        headers["Link"] = f'<{base_url}?{qs}>; rel="next"'
    return headers
