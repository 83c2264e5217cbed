"""`kilowatt serve` tunes the garbage collector once started (see kilowatt.cli._tune_gc)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from kilowatt import cli


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tune_gc_freezes_start_up_objects_and_collects_young_objects_less_often(
    restore_gc: None,
) -> None:
    before = gc.get_threshold()[0]
    cli._tune_gc()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] > before
    # Collections still happen: cycles created after start are found.
    assert gc.isenabled()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
