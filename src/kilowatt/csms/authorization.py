"""Id tokens and their authorization (1.6 Authorize 4.1 / IdTagInfo; 2.0.1 C01, C05, C15)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from kilowatt.csms.clock import utcnow
from kilowatt.csms.errors import NotFound, ValidationError
from kilowatt.csms.model import (
    AuthorizationResult,
    AuthStatus,
    IdTokenInfo,
    IdTokenInput,
    Page,
    TokenStatus,
    from_row,
)
from kilowatt.csms.repositories import Repositories

__all__ = ["AuthorizationService", "RemoteAuthorizer"]


@runtime_checkable
class RemoteAuthorizer(Protocol):
    """Asked about tokens the database does not know (e.g. OCPI real-time authorization).

    Return None when the remote side does not know the token either; Kilowatt then applies the
    ``accept_unknown_id_tokens`` setting.
    """

    async def authorize(
        self, id_token: str, token_type: str | None, station_id: str | None
    ) -> AuthorizationResult | None:
        """The remote verdict on ``id_token``, or None when the remote side does not know it.

        Args:
            id_token: the token value as the station sent it.
            token_type: 2.x IdTokenEnumType (None: not stated, e.g. 1.6).
            station_id: the station asking (None: not known to the caller).
        """
        ...


class AuthorizationService:
    """Stores id tokens and decides whether one may charge.

    Token cache: Authorize, StartTransaction and StopTransaction (and 2.x TransactionEvent
    with an idToken) all authorize; the stored token is kept in memory instead of being read
    on every message. It is written through: :meth:`put` and :meth:`delete` (the operator API)
    replace or drop the entry, and a read that raced with them does not store its stale row
    (generation counter). The TTL bounds how long a change made behind this process's back
    (another process, a CLI command on the same database) can go unseen. A cluster of
    Kilowatt processes would have to broadcast invalidations (e.g. over the Redis bus) or use
    a short TTL.
    """

    def __init__(
        self,
        repositories: Repositories,
        *,
        accept_unknown: bool = False,
        remote: RemoteAuthorizer | None = None,
        clock: Callable[[], datetime] = utcnow,
        cache_ttl: float = 30.0,
        cache_size: int = 100_000,
    ) -> None:
        """Create the service over the stored tokens.

        Args:
            repositories: where tokens live (:attr:`Repositories.id_tokens`).
            accept_unknown: answer Accepted for tokens nobody knows (local trials).
            remote: optional :class:`RemoteAuthorizer` consulted for unknown tokens; can be set
                later with :meth:`set_remote_authorizer`.
            clock: the current aware UTC time (expiry checks, ``created_at``/``updated_at``).
            cache_ttl: how long (s) a token read from the database (or its absence) is reused
                by :meth:`authorize`; 0 disables the cache.
            cache_size: most tokens cached; a full cache is emptied before the next entry.
        """
        self._tokens = repositories.id_tokens
        self.accept_unknown = accept_unknown
        self._remote = remote
        self._clock = clock
        self.cache_ttl = cache_ttl
        self._cache_size = cache_size
        self._cache: dict[str, tuple[float, Mapping[str, Any] | None]] = {}
        self._generation = 0

    async def _token(self, id_token: str) -> Mapping[str, Any] | None:
        """The stored token (cached), or None."""
        now = time.monotonic()
        hit = self._cache.get(id_token)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        found = await self._tokens.get(id_token)
        row = dict(found) if found is not None else None
        if self.cache_ttl > 0 and generation == self._generation:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[id_token] = (now + self.cache_ttl, row)
        return row

    def _invalidate(self, id_token: str) -> None:
        self._generation += 1
        self._cache.pop(id_token, None)

    def set_remote_authorizer(self, remote: RemoteAuthorizer | None) -> None:
        """Install (or remove) the authorizer asked about unknown tokens."""
        self._remote = remote

    async def authorize(
        self,
        id_token: str,
        *,
        token_type: str | None = None,
        station_id: str | None = None,
        exclude_transaction: int | None = None,
        check_concurrency: bool = True,
    ) -> AuthorizationResult:
        """Authorize ``id_token``.

        Order: stored status (Blocked/Expired/Invalid) → expiry date passed (Expired) →
        concurrent-transaction limit reached (ConcurrentTx) → Accepted. Unknown tokens go to
        the remote authorizer, then ``accept_unknown`` (Accepted) or Unknown.

        Args:
            id_token: the token value as the station sent it.
            token_type: 2.x IdTokenEnumType; a stored token with another type is Invalid.
            station_id: the station asking; passed on to the remote authorizer only.
            exclude_transaction: do not count this transaction as active (the one being
                started or replayed).
            check_concurrency: False when stopping (a stop never hits the limit).
        """
        row = await self._token(id_token)
        active = 0
        limit = row["max_concurrent_transactions"] if row is not None else None
        if check_concurrency and limit is not None:
            active = await self._tokens.active_transactions(
                id_token, exclude_transaction=exclude_transaction
            )
        if row is None:
            if self._remote is not None:
                result = await self._remote.authorize(id_token, token_type, station_id)
                if result is not None:
                    return result
            return AuthorizationResult(
                AuthStatus.ACCEPTED if self.accept_unknown else AuthStatus.UNKNOWN
            )
        expiry, group_id = row["expiry"], row["group_id"]
        status = AuthStatus(row["status"])
        if token_type is not None and row["type"] is not None and token_type != row["type"]:
            status = AuthStatus.INVALID
        elif status is AuthStatus.ACCEPTED:
            if expiry is not None and expiry <= self._clock():
                status = AuthStatus.EXPIRED
            elif limit is not None and active >= limit:
                status = AuthStatus.CONCURRENT_TX
        return AuthorizationResult(status, expiry, group_id)

    # --- operator management ------------------------------------------------------------------

    async def put(self, id_token: str, data: IdTokenInput) -> tuple[IdTokenInfo, bool]:
        """Create or replace a token; returns it and whether it was created.

        Raises:
            ValidationError: empty/too long token or a negative concurrency limit.
        """
        if not id_token or len(id_token) > 255:
            raise ValidationError("id_token must have 1 to 255 characters")
        limit = data.max_concurrent_transactions
        if limit is not None and limit < 1:
            raise ValidationError("max_concurrent_transactions must be at least 1")
        now = self._clock()
        values = {
            "id_token": id_token,
            "type": data.type,
            "status": TokenStatus(data.status).value,
            "expiry": data.expiry,
            "group_id": data.group_id,
            "max_concurrent_transactions": limit,
            "created_at": now,
            "updated_at": now,
        }
        self._invalidate(id_token)
        try:
            created = await self._tokens.put(values)
        finally:
            self._invalidate(id_token)
        return await self.get(id_token), created

    async def get(self, id_token: str) -> IdTokenInfo:
        """The stored token (read from the repository, not the cache).

        Raises:
            NotFound: no such token.
        """
        row = await self._tokens.get(id_token)
        if row is None:
            raise NotFound(f"id token {id_token!r} not found")
        return from_row(IdTokenInfo, row, status=TokenStatus(row["status"]))

    async def list(self, *, limit: int = 50, offset: int = 0) -> Page[IdTokenInfo]:
        """Tokens ordered by value."""
        rows, total = await self._tokens.page(limit=limit, offset=offset)
        items = [from_row(IdTokenInfo, r, status=TokenStatus(r["status"])) for r in rows]
        return Page(items, total)

    async def delete(self, id_token: str) -> None:
        """Delete a token and drop it from the cache.

        Raises:
            NotFound: no such token.
        """
        self._invalidate(id_token)
        try:
            deleted = await self._tokens.delete(id_token)
        finally:
            self._invalidate(id_token)
        if not deleted:
            raise NotFound(f"id token {id_token!r} not found")
