"""Authorization: stored status, expiry, type, unknown tokens, remote authorizer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any as Clock  # the settable clock fixture of conftest.py

import pytest

from kilowatt.config import Settings
from kilowatt.csms import NotFound, Services, ValidationError
from kilowatt.csms.model import AuthorizationResult, AuthStatus, IdTokenInput, TokenStatus
from kilowatt.storage import Database


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
    services = Services.create(db, Settings(accept_unknown_id_tokens=True))
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
