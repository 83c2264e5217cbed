"""Authorization: stored status, expiry, type, unknown tokens, remote authorizer."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from typing import Any as Clock  # the settable clock fixture of conftest.py

import pytest

from kilowatt.config import Settings
from kilowatt.csms import NotFound, Services, ValidationError
from kilowatt.csms.model import AuthorizationResult, AuthStatus, IdTokenInput, TokenStatus
from kilowatt.storage import Database
from kilowatt.storage.sql import SqlRepositories


async def test_statuses_and_expiry(services: Services, clock: Clock) -> None:
    auth = services.authorization
    info, created = await auth.put(
        "A", IdTokenInput(expiry=clock.now + timedelta(hours=1), group_id="G")
    )
    assert created and info.status is TokenStatus.ACCEPTED
    _, created = await auth.put(
        "A", IdTokenInput(expiry=clock.now + timedelta(hours=1), group_id="G")
    )
    assert not created
    await auth.put("B", IdTokenInput(status=TokenStatus.BLOCKED))
    await auth.put("T", IdTokenInput(type="ISO14443"))

    result = await auth.authorize("A")
    assert result == AuthorizationResult(AuthStatus.ACCEPTED, clock.now + timedelta(hours=1), "G")
    assert (await auth.authorize("B")).status is AuthStatus.BLOCKED
    assert (await auth.authorize("T", token_type="eMAID")).status is AuthStatus.INVALID
    assert (await auth.authorize("T", token_type="ISO14443")).status is AuthStatus.ACCEPTED
    assert (await auth.authorize("T")).status is AuthStatus.ACCEPTED
    assert (await auth.authorize("nobody")).status is AuthStatus.UNKNOWN
    clock.advance(3600)
    assert (await auth.authorize("A")).status is AuthStatus.EXPIRED

    page = await auth.list(limit=2)
    assert page.total == 3 and [t.id_token for t in page.items] == ["A", "B"]
    await auth.delete("A")
    with pytest.raises(NotFound):
        await auth.get("A")
    with pytest.raises(NotFound):
        await auth.delete("A")
    with pytest.raises(ValidationError):
        await auth.put("C", IdTokenInput(max_concurrent_transactions=0))


async def test_accept_unknown_and_remote(db: Database) -> None:
    services = Services.create(SqlRepositories(db), Settings(accept_unknown_id_tokens=True))
    assert (await services.authorization.authorize("x")).status is AuthStatus.ACCEPTED

    class Remote:
        def __init__(self) -> None:
            self.asked: list[tuple[str, str | None, str | None]] = []

        async def authorize(
            self, id_token: str, token_type: str | None, station_id: str | None
        ) -> AuthorizationResult | None:
            self.asked.append((id_token, token_type, station_id))
            return AuthorizationResult(AuthStatus.BLOCKED) if id_token == "emsp" else None

    remote = Remote()
    services.authorization.set_remote_authorizer(remote)
    result = await services.authorization.authorize("emsp", token_type="eMAID", station_id="CP")
    assert result.status is AuthStatus.BLOCKED
    assert (await services.authorization.authorize("other")).status is AuthStatus.ACCEPTED
    assert remote.asked == [("emsp", "eMAID", "CP"), ("other", None, None)]


async def test_token_cache_is_written_through_by_put_and_delete(services: Services) -> None:
    auth = services.authorization
    reads = 0
    get = auth._tokens.get

    async def counting_get(id_token: str) -> Any:
        nonlocal reads
        reads += 1
        return await get(id_token)

    auth._tokens.get = counting_get  # type: ignore[method-assign]
    assert (await auth.authorize("C")).status is AuthStatus.UNKNOWN
    assert (await auth.authorize("C")).status is AuthStatus.UNKNOWN
    assert reads == 1  # the absence is cached too
    await auth.put("C", IdTokenInput())
    assert (await auth.authorize("C")).status is AuthStatus.ACCEPTED
    await auth.put("C", IdTokenInput(status=TokenStatus.BLOCKED))
    assert (await auth.authorize("C")).status is AuthStatus.BLOCKED
    reads_before = reads
    assert (await auth.authorize("C")).status is AuthStatus.BLOCKED
    assert reads == reads_before
    await auth.delete("C")
    assert (await auth.authorize("C")).status is AuthStatus.UNKNOWN


async def test_a_read_racing_with_put_does_not_cache_the_old_token(services: Services) -> None:
    auth = services.authorization
    await auth.put("R", IdTokenInput())
    auth._cache.clear()
    get = auth._tokens.get
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow_get(id_token: str) -> Any:
        row = await get(id_token)
        entered.set()
        await release.wait()
        return row

    auth._tokens.get = slow_get  # type: ignore[method-assign]
    reading = asyncio.create_task(auth.authorize("R"))
    await entered.wait()
    auth._tokens.get = get  # type: ignore[method-assign]
    await auth.put("R", IdTokenInput(status=TokenStatus.BLOCKED))
    release.set()
    assert (await reading).status is AuthStatus.ACCEPTED  # it read before the change
    assert (await auth.authorize("R")).status is AuthStatus.BLOCKED


async def test_without_the_cache_changes_behind_our_back_are_seen(db: Database) -> None:
    services = Services.create(SqlRepositories(db), Settings())
    auth = services.authorization
    auth.cache_ttl = 0
    assert (await auth.authorize("X")).status is AuthStatus.UNKNOWN
    other = Services.create(
        SqlRepositories(db), Settings()
    )  # e.g. another process on the same database
    await other.authorization.put("X", IdTokenInput())
    assert (await auth.authorize("X")).status is AuthStatus.ACCEPTED
