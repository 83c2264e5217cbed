"""The version-neutral commands' dispatch table: every version translates every command, each
translation returns the command's answer type, and requests are parsed strictly."""

from __future__ import annotations

from typing import Any, get_type_hints

import pytest

from kilowatt.csms import commands as c
from kilowatt.handlers import HANDLERS, StationHandler
from kilowatt.ocpp.version import OcppVersion


@pytest.mark.parametrize("version", list(OcppVersion), ids=lambda v: v.value)
def test_every_version_translates_every_command(version: OcppVersion) -> None:
    table = HANDLERS[version].commands
    assert set(table) == set(c.COMMANDS.values())
    for command, method in table.items():
        hints = get_type_hints(method)
        assert hints["command"] is command, method.__qualname__
        assert issubclass(hints["return"], c.answer_type(command)), method.__qualname__


def test_the_base_class_has_an_empty_table_and_subclasses_inherit() -> None:
    assert StationHandler.commands == {}
    v201, v21 = HANDLERS[OcppVersion.V201], HANDLERS[OcppVersion.V21]
    assert v21.commands == v201.commands


def test_answer_type_needs_a_parameter() -> None:
    class Bare(c.Command, kw_only=True):  # type: ignore[type-arg]
        name = "bare"

    assert c.answer_type(c.Reset) is c.StatusAnswer
    with pytest.raises(TypeError):
        c.answer_type(Bare)


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("reset", {}, c.Reset(type="soft")),
        ("reset", {"type": "Hard", "ignored": 1}, c.Reset(type="Hard")),
        ("get-configuration", {"key": "A"}, c.GetConfiguration(key="A")),
        ("set-configuration", {"key": "A", "value": 5}, c.SetConfiguration(key="A", value=5)),
        ("data-transfer", {"vendor_id": "V", "data": {"x": [1]}}, None),
    ],
)
def test_parse_command(name: str, params: dict[str, Any], expected: Any) -> None:
    command = c.parse_command(name, params)
    assert isinstance(command, c.COMMANDS[name])
    if expected is not None:
        assert command == expected


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("reset", {"type": "later"}, "$.type"),
        ("unlock-connector", {"evse_id": True}, "$.evse_id"),  # a bool is not an integer
        ("unlock-connector", {"evse_id": "1"}, "$.evse_id"),
        ("stop-transaction", {}, "transaction_id"),
        ("change-availability", {"operative": "yes"}, "$.operative"),
        ("get-configuration", {"keys": ["a", 1]}, "$.keys[1]"),
    ],
)
def test_parse_command_rejects(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("[", r"\[")):
        c.parse_command(name, params)
    with pytest.raises(KeyError):
        c.parse_command("launch-rocket", {})


def test_get_configuration_keys() -> None:
    assert c.GetConfiguration().requested() == []
    assert c.GetConfiguration(key="A").requested() == ["A"]
    assert c.GetConfiguration(keys=["A", "B"], key="C").requested() == ["A", "B"]
