"""The pre-decode nesting check (:mod:`kilowatt.ocpp.depth`): exact against a reference scanner,
never recursive, and the answers OCPP-J prescribes for a refused frame."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kilowatt.ocpp.depth import MAX_DEPTH, refuse_deep_frame, shallow_header, too_deep
from kilowatt.ocpp.version import OcppVersion


def reference_depth(text: str) -> int:
    """The deepest nesting of ``text``, one character at a time (strings and escapes skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=3), children, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=300)
@given(value=json_values, limit=st.integers(min_value=1, max_value=12))
def test_too_deep_matches_the_reference_on_json(value: Any, limit: int) -> None:
    text = json.dumps(value)
    assert too_deep(text, limit) == (reference_depth(text) > limit)
    assert too_deep(text.encode(), limit) == (reference_depth(text) > limit)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("[" * 65 + "]" * 65, 64, True),
        ("[" * 64 + "]" * 64, 64, False),
        ("[{" * 32 + "}]" * 32, 64, False),
        ("[{" * 33 + "}]" * 33, 64, True),
        ('["' + "[" * 100 + '"]', 64, False),  # brackets in a string do not count
        ('["\\"' + "[" * 100 + '"]', 64, False),  # nor after an escaped quote
        ('["' + "[" * 100, 64, False),  # an unterminated string: a decoder stops there
        ('["\\"' + "[" * 100, 64, False),  # the same after an escape
        ("[]" * 100, 64, False),
        ("[" * 100_000, 64, True),  # unmatched openers: a decoder recurses into each
        ("]" * 100 + "[" * 10, 64, False),
        # Past the C-speed passes, the linear prefix-sum scan decides.
        ("[" + "[1," * 60 + "1" + "]" * 60 + ",[[]]" * 50 + "]", 64, False),
        ("[" + "[1," * 64 + "1" + "]" * 64 + ",[[]]" * 50 + "]", 64, True),
    ],
)
def test_too_deep_edge_cases(text: str, limit: int, expected: bool) -> None:
    assert too_deep(text, limit) is expected


def test_too_deep_never_recurses() -> None:
    """A million levels: far past any recursion limit, decided without recursion."""
    assert too_deep("[" * 1_000_000 + "]" * 1_000_000)
    assert too_deep(b"[" * 1_000_000 + b"]" * 1_000_000)


@pytest.mark.parametrize(
    ("frame", "header"),
    [
        ('[2,"id-1","Heartbeat",' + "[" * 5000, (2, "id-1", "Heartbeat")),
        (' [ 3 , "id-2" , {"a":1}]', (3, "id-2", None)),
        ('[2,"a\\"b","X"', (2, 'a"b', "X")),
        (b'[6,"s","NotifyPeriodicEventStream",{}]', (6, "s", "NotifyPeriodicEventStream")),
        ('[2,7,"X"]', (2, None, None)),
        ('[2,"a\\qb","X"', (2, None, "X")),  # not a JSON escape: the id cannot be read
        (b'[2,"a\xffb","X"', (2, None, "X")),  # nor invalid UTF-8
        ("[[[[", (None, None, None)),
        ("not json", (None, None, None)),
    ],
)
def test_shallow_header(frame: str | bytes, header: tuple[Any, ...]) -> None:
    assert shallow_header(frame) == header


DEEP = "[" * 200 + "]" * 200
LONG = "L" * 40  # over the 36 characters of a message id


@pytest.mark.parametrize(
    ("frame", "version", "answer"),
    [
        ('[2,"c1","Heartbeat",' + DEEP + "]", OcppVersion.V201, ["c1", "RpcFrameworkError"]),
        ('[2,"c1","Heartbeat",' + DEEP + "]", OcppVersion.V21, ["c1", "RpcFrameworkError"]),
        ('[2,"c1","Heartbeat",' + DEEP + "]", OcppVersion.V16, ["c1", "FormationViolation"]),
        (DEEP, OcppVersion.V201, ["-1", "RpcFrameworkError"]),
        (DEEP, OcppVersion.V16, None),  # 1.6: no id to echo, no answer
        ('[3,"c1",' + DEEP + "]", OcppVersion.V201, None),  # answers never get a CALLERROR
        ('[6,"c1","X",' + DEEP + "]", OcppVersion.V21, None),  # nor does a SEND
        ('[9,"c1","X",' + DEEP + "]", OcppVersion.V21, None),  # unknown type: ignored
        # An over-long id is echoed, as for any other unreadable CALL.
        (f'[2,"{LONG}","X",{DEEP}]', OcppVersion.V201, [LONG, "RpcFrameworkError"]),
    ],
)  # fmt: skip
def test_refuse_deep_frame_answers(
    frame: str, version: OcppVersion, answer: list[str] | None
) -> None:
    deep = refuse_deep_frame(frame, version)
    assert deep is not None
    if answer is None:
        assert deep.answer is None
    else:
        assert deep.answer is not None
        error = json.loads(deep.answer)
        assert error[0] == 4 and error[1:3] == answer and error[4] == {}
        assert len(error[3]) <= 255


def test_refuse_deep_frame_passes_ordinary_frames() -> None:
    frame = '[2,"m1","MeterValues",{"connectorId":1,"meterValue":' + "[{}]" * 100 + "}]"
    assert refuse_deep_frame(frame, OcppVersion.V16) is None
    assert refuse_deep_frame('[2,"h","Heartbeat",{}]', OcppVersion.V201, MAX_DEPTH) is None
