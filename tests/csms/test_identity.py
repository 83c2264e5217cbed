"""The station identity rule (:mod:`kilowatt.csms.identity`) and its use by StationService."""

from __future__ import annotations

import pytest

from kilowatt.csms import Services, ValidationError
from kilowatt.csms.identity import MAX_IDENTITY_LENGTH, check_identity, is_valid_identity

VALID = ["CP-001_a.b~", "A", "x" * MAX_IDENTITY_LENGTH, "DE*ABC*E123", "...", ".a", "cp.."]
INVALID = [
    "",
    ".",
    "..",
    "a/b",
    "CP:1",
    "a\x00b",
    "a\nb",
    "a b",
    "a%2Fb",
    "a?b",
    "a#b",
    "a+b",
    "é",
    "x" * (MAX_IDENTITY_LENGTH + 1),
]


@pytest.mark.parametrize("identity", VALID)
def test_valid_identities(identity: str) -> None:
    assert check_identity(identity) is None
    assert is_valid_identity(identity)


@pytest.mark.parametrize("identity", INVALID)
def test_invalid_identities_have_a_reason(identity: str) -> None:
    reason = check_identity(identity)
    assert reason is not None
    assert reason.startswith("station id ")
    assert not is_valid_identity(identity)


def test_reasons_name_the_broken_limit() -> None:
    assert check_identity("") == "station id is empty"
    assert "48" in (check_identity("x" * 49) or "")
    assert "':'" in (check_identity("CP:1") or "")
    assert "'..'" in (check_identity("..") or "")
    assert "A-Z a-z 0-9 - . _ ~ *" in (check_identity("a/b") or "")


@pytest.mark.parametrize("identity", INVALID)
async def test_register_refuses_invalid_identities(services: Services, identity: str) -> None:
    with pytest.raises(ValidationError) as refused:
        await services.stations.register(identity)
    assert str(refused.value) == check_identity(identity)
    assert (await services.stations.list()).total == 0


async def test_open_registration_creates_no_row_for_an_invalid_identity(
    services: Services,
) -> None:
    with pytest.raises(ValidationError):
        await services.stations.connected("a/b", "1.6")
    assert (await services.stations.list()).total == 0
    info = await services.stations.connected("CP-001_a.b~", "1.6")
    assert info.id == "CP-001_a.b~"
