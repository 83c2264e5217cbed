"""The ``kilowatt simulate`` command: run simulated stations against a CSMS.

``kilowatt.cli`` registers :func:`simulate` (or mounts :data:`app`); until then
``python -m kilowatt.simulator URL ...`` runs the same command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from kilowatt.simulator.scenario import Scenario, ScenarioError, load_scenario
from kilowatt.simulator.simulation import Simulation

__all__ = ["app", "run_simulation", "simulate"]

app = typer.Typer(add_completion=False, help="Charge point simulator (OCPP 1.6, 2.0.1, 2.1).")


def _table(data: dict[str, Any], title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("stations connected", f"{data['connected']} / {data['stations']}"),
        ("sessions active", str(data["sessions_active"])),
        ("sessions completed", str(data["sessions_completed"])),
        ("energy delivered", f"{data['energy_wh'] / 1000:.3f} kWh"),
        ("calls", str(data["calls"])),
        ("calls/s", f"{data['calls_per_s']:.1f}"),
        ("errors", str(data["errors"])),
        ("id tokens rejected", str(data.get("rejected", 0))),
        ("queued tx messages", str(data["queued"])),
        ("elapsed", f"{data['elapsed_s']:.1f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


async def run_simulation(
    simulation: Simulation, *, live: bool, console: Console | None = None
) -> dict[str, Any]:
    """Run ``simulation``, with a rich live view when ``live``; return its summary."""
    if not live:
        return await simulation.run()
    console = console or Console(stderr=True)
    title = f"kilowatt simulate · OCPP {simulation.scenario.version} · {simulation.url}"
    with Live(_table(simulation.summary(), title), console=console, refresh_per_second=4) as view:

        def tick(sim: Simulation) -> None:
            view.update(_table(sim.summary(), title))

        summary = await simulation.run(on_tick=tick)
        view.update(_table(summary, title + " · done"))
    return summary


def simulate(
    url: Annotated[
        str,
        typer.Argument(help="CSMS endpoint without the identity, e.g. ws://127.0.0.1:9000/ocpp"),
    ],
    stations: Annotated[
        int | None, typer.Option("--stations", "-n", min=1, help="Number of stations.")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="OCPP version: 1.6, 2.0.1 or 2.1.")
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option("--duration", "-d", min=0.001, help="Run time in s (default: until Ctrl-C)."),
    ] = None,
    evses: Annotated[int | None, typer.Option("--evses", min=1, help="EVSEs per station.")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="HTTP Basic-auth password (user = identity).")
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", "-s", exists=True, dir_okay=False, help="Scenario TOML file."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with the results at the end.")
    ] = False,
    prefix: Annotated[
        str | None,
        typer.Option("--prefix", help="Identity prefix (stations are <prefix>0001, ...)."),
    ] = None,
    time_scale: Annotated[
        float | None,
        typer.Option("--time-scale", min=0.001, help="Simulated seconds per real second."),
    ] = None,
    sample_interval: Annotated[
        int | None,
        typer.Option("--sample-interval", min=0, help="Meter sample interval in simulated s."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed for a reproducible run.")
    ] = None,
) -> None:
    """Simulate charging stations against the CSMS at URL.

    Command-line options override the scenario file. Exit status: 0, or 2 for a bad scenario
    or option.
    """
    try:
        base = load_scenario(scenario) if scenario is not None else Scenario()
        if version is not None and version not in ("1.6", "2.0.1", "2.1"):
            raise ScenarioError(f"unknown OCPP version {version!r} (1.6, 2.0.1 or 2.1)")
        simulation = Simulation(
            url,
            base,
            stations=stations,
            version=version,
            duration_s=duration,
            evses=evses,
            password=password,
            prefix=prefix,
            time_scale=time_scale,
            sample_interval_s=sample_interval,
            seed=seed,
        )
    except (ScenarioError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    live = not json_output and sys.stderr.isatty()
    summary: dict[str, Any] | None = None
    with contextlib.suppress(KeyboardInterrupt):
        summary = asyncio.run(run_simulation(simulation, live=live))
    if summary is None:  # interrupted: the stations were stopped by asyncio.run's cleanup
        summary = simulation.summary()
    if json_output:
        typer.echo(json.dumps(summary, sort_keys=True))
    elif not live:
        Console().print(_table(summary, "kilowatt simulate · summary"))
    hint = rejection_hint(summary)
    if hint:
        typer.echo(hint, err=True)


def rejection_hint(summary: dict[str, Any]) -> str | None:
    """A hint for the operator when the CSMS refused every id token the simulator presented
    (a first trial against a CSMS that rejects unknown tokens), else None."""
    if summary.get("rejected", 0) and not summary.get("sessions_completed"):
        return (
            "note: the CSMS rejected the simulated id tokens, so no session started. Register "
            "them (Kilowatt: PUT /api/v1/id-tokens/SIMTOKEN01 ...) or start "
            "`kilowatt serve --accept-unknown-id-tokens` for a trial."
        )
    return None


app.command("simulate")(simulate)


def main() -> None:
    """Entry point of ``python -m kilowatt.simulator``: the simulate command on its own."""
    typer.run(simulate)
