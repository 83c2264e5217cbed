"""The simulator against a CSMS that rejects its id tokens: sessions are refused, counted and
explained (the first thing a new user meets when trying ``kilowatt serve`` with its defaults)."""

from __future__ import annotations

from pathlib import Path

from kilowatt.app import Kilowatt
from kilowatt.simulator.cli import rejection_hint
from kilowatt.simulator.scenario import parse_scenario
from kilowatt.simulator.simulation import Simulation
from tests.app.conftest import node_settings

SCENARIO = parse_scenario(
    """
    version = "1.6"
    stations = 1
    evses = 1
    time_scale = 200
    duration_s = 3
    seed = 3
    """
)


async def test_rejected_tokens_are_counted_and_explained(tmp_path: Path) -> None:
    settings = node_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'kw.db'}")
    assert not settings.accept_unknown_id_tokens  # the default: unknown tokens are rejected
    node = Kilowatt(settings)
    await node.start()
    try:
        simulation = Simulation(f"ws://127.0.0.1:{node.ocpp_port}/ocpp", SCENARIO)
        summary = await simulation.run()
    finally:
        await node.stop()
    assert summary["rejected"] > 0
    assert summary["sessions_completed"] == 0
    assert summary["errors"] == 0  # a rejected card is not a protocol error
    hint = rejection_hint(summary)
    assert hint is not None and "--accept-unknown-id-tokens" in hint
    assert rejection_hint({**summary, "sessions_completed": 1}) is None
    assert rejection_hint({**summary, "rejected": 0}) is None
