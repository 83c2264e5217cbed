"""Unit tests of the pure parts of the transport: handshake rules, backoff, routing tables."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest

from kilowatt.ocpp.routing import action_name, after, collect_routes, on
from kilowatt.ocpp.version import OcppVersion
from kilowatt.transport.client import backoff_delays, station_url
from kilowatt.transport.handshake import (
    basic_auth_header,
    identity_from_path,
    parse_basic_auth,
    select_version,
    validate_identity,
)

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21


@pytest.mark.parametrize(
    ("offered", "supported", "expected"),
    [
        (["ocpp2.0.1", "ocpp1.6"], [V16, V201], V201),
        (["ocpp1.6", "ocpp2.0.1"], [V201, V16], V16),  # the client's order wins
        (["ocpp9", "ocpp2.1", "ocpp1.6"], [V16, V21], V21),
        (["ocpp2.0", "ocpp1.5"], [V16, V201, V21], None),
        ([], [V16], None),
    ],
)
def test_select_version_picks_the_clients_first_supported(
    offered: list[str], supported: list[OcppVersion], expected: OcppVersion | None
) -> None:
    assert select_version(offered, supported) is expected


@pytest.mark.parametrize(
    ("path", "identity"),
    [
        ("/CP-1", "CP-1"),
        ("/ocpp/CP%201", "CP 1"),
        ("/ocpp/A%2FB?token=x", "A/B"),
        ("/ocpp/%C3%A9t%C3%A9", "été"),
        ("/ocpp/", ""),
    ],
)
def test_identity_is_the_last_segment_percent_decoded(path: str, identity: str) -> None:
    assert identity_from_path(path) == identity


def test_identity_rules_per_version() -> None:
    assert validate_identity("", V16) is not None
    assert validate_identity("a:b", V16) is None
    assert validate_identity("x" * 60, V16) is None
    assert validate_identity("a:b", V201) is not None
    assert validate_identity("x" * 49, V21) is not None
    assert validate_identity("x" * 48, V201) is None


def test_basic_auth_round_trip_and_rejections() -> None:
    assert parse_basic_auth(basic_auth_header("CP-1", "pa:ss wörd")) == ("CP-1", "pa:ss wörd")
    assert parse_basic_auth(None) is None
    assert parse_basic_auth("Bearer abc") is None
    assert parse_basic_auth("Basic !!!") is None
    assert parse_basic_auth("Basic " + base64.b64encode(b"nocolon").decode()) is None
    latin = "Basic " + base64.b64encode(b"CP:\xe9").decode()
    assert parse_basic_auth(latin) == ("CP", "é")


def test_station_url_percent_encodes_the_identity() -> None:
    assert station_url("ws://h:1/ocpp/", "CP 1/x") == "ws://h:1/ocpp/CP%201%2Fx"


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    top = list(itertools.islice(backoff_delays(1.0, 10.0, 2.0, random=lambda: 1.0), 6))
    assert top == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    half = list(itertools.islice(backoff_delays(1.0, 10.0, 2.0, random=lambda: 0.5), 3))
    assert half == [0.5, 1.0, 2.0]
    zero = list(itertools.islice(backoff_delays(random=lambda: 0.0), 3))
    assert zero == [0.0, 0.0, 0.0]


class FakeRequest:
    pass


class OtherRequest:
    pass


class HeartbeatRequest:
    pass


class Handlers:
    @on("BootNotification")
    def boot_any(self, request: Any) -> str:
        return "any"

    @on(HeartbeatRequest)
    async def heartbeat(self, request: Any, context: Any) -> str:
        return "typed"

    @after("BootNotification")
    def boot_after(self, request: Any) -> None:
        return None


def test_collect_routes_finds_decorated_methods() -> None:
    table = collect_routes(Handlers)
    assert table.actions() == {"BootNotification", "Heartbeat"}
    boot = table.find_on("BootNotification", FakeRequest)
    assert boot is not None and boot.attribute == "boot_any" and not boot.wants_context
    beat = table.find_on("Heartbeat", HeartbeatRequest)
    assert beat is not None and beat.wants_context
    assert table.find_on("Heartbeat", OtherRequest) is None  # typed route: that type only
    assert [r.attribute for r in table.find_after("BootNotification", FakeRequest)] == [
        "boot_after"
    ]


def test_typed_route_wins_over_untyped_and_duplicates_are_rejected() -> None:
    class Both:
        @on("Heartbeat")
        def untyped(self, request: Any) -> None: ...

        @on(HeartbeatRequest)
        def typed(self, request: Any) -> None: ...

    table = collect_routes(Both)
    assert table.find_on("Heartbeat", HeartbeatRequest).attribute == "typed"  # type: ignore[union-attr]
    assert table.find_on("Heartbeat", OtherRequest).attribute == "untyped"  # type: ignore[union-attr]

    class Twice:
        @on("Heartbeat")
        def one(self, request: Any) -> None: ...

        @on("Heartbeat")
        def two(self, request: Any) -> None: ...

    with pytest.raises(TypeError, match="both handle Heartbeat"):
        collect_routes(Twice)


def test_action_name_from_type() -> None:
    assert action_name(HeartbeatRequest) == "Heartbeat"
    assert action_name("Reset") == "Reset"
    with pytest.raises(TypeError):
        action_name(FakeRequest.__class__)
