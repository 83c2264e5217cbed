"""The simulator against a CSMS that rejects its id tokens: sessions are refused, counted and
explained (the first thing a new user meets when trying ``kilowatt serve`` with its defaults)."""

from __future__ import annotations

import math
from pathlib import Path

import msgspec
import pytest

from kilowatt.app import Kilowatt
from kilowatt.ocpp.version import OcppVersion
from kilowatt.simulator.cli import rejection_hint
from kilowatt.simulator.scenario import Scenario, parse_scenario
from kilowatt.simulator.simulation import Simulation
from tests.app.conftest import node_settings
from tests.simulator.csms import run_csms

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
    # The default pause before the next card is at least 1 s of wall clock (60 simulated s at
    # 200x is 0.3 s, raised to next_card_min_wall_s): one EVSE, 3 s, so at most 1 + 3 cards.
    assert summary["rejected"] <= 1 + math.floor(3 / max(60 / 200, 1.0))
    assert summary["sessions_completed"] == 0
    assert summary["errors"] == 0  # a rejected card is not a protocol error
    hint = rejection_hint(summary)
    assert hint is not None and "--trial" in hint
    assert rejection_hint({**summary, "sessions_completed": 1}) is None
    assert rejection_hint({**summary, "rejected": 0}) is None


# --- a refused card is not presented again at once (issue 10) -----------------------------


def _rejecting_scenario(version: str, **sessions: object) -> Scenario:
    """2 stations × 2 EVSEs whose first card is presented at once; ``sessions`` sets the
    next-card pause."""
    base = parse_scenario(
        """
        stations = 2
        evses = 2
        time_scale = 600
        duration_s = 3
        seed = 3
        [sessions]
        first_delay_s = [0, 0]
        """
    )
    return msgspec.structs.replace(
        base, version=version, sessions=msgspec.structs.replace(base.sessions, **sessions)
    )


async def _count_authorize(scenario: Scenario) -> tuple[int, dict[str, object]]:
    """Run ``scenario`` against a CSMS that answers every Authorize with Invalid; return the
    Authorize calls it received and the run's summary."""
    async with run_csms(OcppVersion(scenario.version), authorize_status="Invalid") as (csms, url):
        simulation = Simulation(url, scenario)
        summary = await simulation.run()
        identities = [station.identity for station in simulation.stations]
    return sum(len(csms.actions(i, "Authorize")) for i in identities), summary


def _bound(scenario: Scenario) -> int:
    """The most Authorize calls the run can send: per EVSE, the first card and then one per
    full pause (``next_card_s`` at the time scale, at least ``next_card_min_wall_s``) that fits
    in the run. A slower machine only sends fewer: no wall-clock assertion hides in it."""
    sessions = scenario.sessions
    assert sessions.next_card_s[0] == sessions.next_card_s[1]  # a fixed pause: an exact bound
    pause = max(sessions.next_card_s[0] / scenario.time_scale, sessions.next_card_min_wall_s)
    assert scenario.duration_s is not None
    per_evse = 1 + math.floor(scenario.duration_s / pause)
    return scenario.stations * scenario.evses * per_evse


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
async def test_rejected_token_waits_for_the_next_card(version: str) -> None:
    """After a refusal the EVSE waits ``next_card_s`` simulated s (here 1200 s = 2 s of wall
    clock at 600×) before the next card: a few Authorize calls per EVSE, not thousands."""
    scenario = _rejecting_scenario(version, next_card_s=(1200.0, 1200.0), next_card_min_wall_s=0)
    calls, summary = await _count_authorize(scenario)
    assert 0 < calls <= _bound(scenario) == 8
    assert summary["rejected"] == calls  # each refused card is counted once
    assert summary["sessions_completed"] == 0 and summary["errors"] == 0


async def test_next_card_pause_has_a_wall_clock_floor() -> None:
    """At a huge time scale the simulated pause is under a millisecond; the floor in wall-clock
    seconds (``next_card_min_wall_s``) still keeps the count small."""
    scenario = msgspec.structs.replace(
        _rejecting_scenario("1.6", next_card_s=(60.0, 60.0), next_card_min_wall_s=1.0),
        stations=1,
        time_scale=100_000,
        duration_s=2.5,
    )
    calls, summary = await _count_authorize(scenario)
    assert 0 < calls <= _bound(scenario) == 6
    assert summary["rejected"] == calls
