"""Numeric bounds of the domain: what storage holds and what the OCPP integer type allows.

One home for the ranges the API, the OCPP handlers and the storage layer agree on, so an
out-of-range number is refused where it enters (HTTP 422 in the API, the CallError the OCPP
specification prescribes on a socket) and never reaches the database as an overflow.

Sources:
    * OCPP 2.0.1 Part 2, §2.1 (primitive datatypes): ``integer`` is 32 bit, one sign bit.
    * OCPP 1.6 JSON schemas declare ``"type": "integer"`` without a width; Kilowatt applies the
      same 32-bit range, which every id, counter and Wh reading of a real station fits in.
    * Storage: ``Integer`` columns are 32-bit on PostgreSQL; ``BigInteger`` ones are 64-bit.
"""

from __future__ import annotations

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_PAGE_OFFSET",
    "in_int32",
    "in_int64",
]

INT32_MIN = -(2**31)
"""Smallest OCPP ``integer`` and smallest value of a 32-bit ``Integer`` column."""

INT32_MAX = 2**31 - 1
"""Largest OCPP ``integer`` and largest value of a 32-bit ``Integer`` column."""

INT64_MIN = -(2**63)
"""Smallest value of a ``BigInteger`` column (and of SQLite's INTEGER)."""

INT64_MAX = 2**63 - 1
"""Largest value of a ``BigInteger`` column (and of SQLite's INTEGER)."""

MAX_PAGE_OFFSET = INT32_MAX
"""Largest ``offset`` a paged listing accepts (SQL ``OFFSET`` is bounded the same way)."""


def in_int32(value: int) -> bool:
    """Tell whether ``value`` fits an OCPP ``integer`` / 32-bit column.

    Args:
        value: Any Python integer.

    Returns:
        ``True`` when ``INT32_MIN <= value <= INT32_MAX``.
    """
    return INT32_MIN <= value <= INT32_MAX


def in_int64(value: int) -> bool:
    """Tell whether ``value`` fits a 64-bit ``BigInteger`` column.

    Args:
        value: Any Python integer.

    Returns:
        ``True`` when ``INT64_MIN <= value <= INT64_MAX``.
    """
    return INT64_MIN <= value <= INT64_MAX
