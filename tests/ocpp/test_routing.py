"""Edge cases of the routing decorators: ActionSpec references, bad types, *args, static methods."""

from __future__ import annotations

from typing import Any

import pytest

from kilowatt.ocpp import v16, v201
from kilowatt.ocpp.routing import action_name, after, collect_routes, on


def test_action_name_of_every_reference_kind() -> None:
    assert action_name(v16.ACTIONS["BootNotification"]) == "BootNotification"
    assert action_name(v201.BootNotificationRequest) == "BootNotification"
    assert action_name("DataTransfer") == "DataTransfer"


@pytest.mark.parametrize("bad", [v16.BootNotificationResponse, int])
def test_action_name_rejects_types_that_are_not_requests(bad: type[Any]) -> None:
    with pytest.raises(TypeError, match=f"{bad.__name__} is not a request type"):
        action_name(bad)


def test_action_name_rejects_a_bare_request_class() -> None:
    class Request:
        pass

    with pytest.raises(TypeError, match="Request is not a request type"):
        action_name(Request)
    with pytest.raises(TypeError):
        on(Request)


def test_action_spec_route_is_typed_to_its_version() -> None:
    class Station:
        @on(v16.ACTIONS["Heartbeat"])
        def beat(self, request: Any) -> None: ...

        @after(v16.ACTIONS["Heartbeat"])
        def beat_done(self, request: Any) -> None: ...

    table = collect_routes(Station)
    route = table.find_on("Heartbeat", v16.HeartbeatRequest)
    assert route is not None
    assert route.request_type is v16.HeartbeatRequest and route.attribute == "beat"
    assert table.find_on("Heartbeat", v201.HeartbeatRequest) is None
    assert [r.attribute for r in table.find_after("Heartbeat", v16.HeartbeatRequest)] == [
        "beat_done"
    ]
    assert table.find_after("Heartbeat", v201.HeartbeatRequest) == []


def test_var_positional_handler_wants_context() -> None:
    class Station:
        @on("Heartbeat")
        def beat(self, *args: Any) -> None: ...

        @on("Authorize")
        def authorize(self, request: Any, *, context: Any = None) -> None: ...

    table = collect_routes(Station)
    assert table.find_on("Heartbeat", v16.HeartbeatRequest).wants_context  # type: ignore[union-attr]
    # A keyword-only context is not passed positionally.
    assert not table.find_on("Authorize", v16.AuthorizeRequest).wants_context  # type: ignore[union-attr]


def test_static_and_class_methods_are_not_routes() -> None:
    class Station:
        @staticmethod
        @on("Heartbeat")
        def static_beat(request: Any) -> None: ...

        @classmethod
        @on("Authorize")
        def class_authorize(cls, request: Any) -> None: ...

        @on("BootNotification")
        def boot(self, request: Any) -> None: ...

    table = collect_routes(Station)
    assert table.actions() == {"BootNotification"}
    assert table.find_on("Heartbeat", v16.HeartbeatRequest) is None


def test_marked_non_callable_attribute_is_ignored_and_tables_are_cached() -> None:
    class Marked:
        __kilowatt_routes__ = on("Heartbeat")(lambda self, request: None).__kilowatt_routes__

    class Station:
        value = Marked()

    table = collect_routes(Station)
    assert table.actions() == set()
    assert collect_routes(Station) is table


def test_stacked_decorators_record_every_action() -> None:
    class Station:
        @on("Heartbeat")
        @on("StatusNotification")
        @after("Heartbeat")
        def many(self, request: Any, context: Any) -> None: ...

    table = collect_routes(Station)
    assert table.actions() == {"Heartbeat", "StatusNotification"}
    assert all(
        r.attribute == "many" and r.wants_context for routes in table.on.values() for r in routes
    )
    assert [r.attribute for r in table.find_after("Heartbeat", v16.HeartbeatRequest)] == ["many"]
