"""The message journal's frame observer: answers get the action of their CALL, ids are cut to
the column width, the map of open CALLs stays bounded."""

from __future__ import annotations

from typing import Any

from kilowatt.handlers.recorder import FrameRecorder


def journal() -> tuple[FrameRecorder, list[tuple[Any, ...]]]:
    rows: list[tuple[Any, ...]] = []
    return FrameRecorder(lambda *row: rows.append(row)), rows


def test_answers_take_the_action_of_their_call_in_the_other_direction() -> None:
    observe, rows = journal()
    observe("in", '[2,"1","Heartbeat",{}]', 2, "1", "Heartbeat")
    observe("out", '[2,"9","Reset",{}]', 2, "9", "Reset")
    observe("out", '[3,"1",{}]', 3, "1", None)
    observe("in", b'[4,"9","NotSupported","",{}]', 4, "9", None)
    observe("in", '[5,"7","x","",{}]', 5, "7", None)
    observe("in", '[3,"unknown",{}]', 3, "unknown", None)
    observe("in", "junk", 0, None, None)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("in", 2, "1", "Heartbeat"),
        ("out", 2, "9", "Reset"),
        ("out", 3, "1", "Heartbeat"),
        ("in", 4, "9", "Reset"),
        ("in", 5, "7", None),
        ("in", 3, "unknown", None),
        ("in", 0, None, None),
    ]
    assert rows[3][4] == '[4,"9","NotSupported","",{}]'  # bytes recorded as text


def test_long_ids_and_actions_are_cut_and_open_calls_bounded() -> None:
    observe, rows = journal()
    observe("in", "[2,...]", 2, "i" * 80, "A" * 80)
    observe("in", "[2,7,...]", 2, None, "B" * 80)
    assert rows[0][2:4] == ("i" * 64, "A" * 64)
    assert rows[1][2:4] == (None, "B" * 64)
    for n in range(300):
        observe("out", "[2,...]", 2, str(n), "Reset")
    observe("in", "[3,...]", 3, "0", None)  # the oldest open CALL was dropped
    observe("in", "[3,...]", 3, "299", None)
    assert [r[3] for r in rows[-2:]] == [None, "Reset"]
