"""The ``kilowatt simulate`` command: run simulated stations against a CSMS.

``kilowatt.cli`` registers :func:`simulate` (or mounts :data:`app`); until then
``python -m kilowatt.simulator URL ...`` runs the same command.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from kilowatt.simulator.connect import ConnectFailure
from kilowatt.simulator.scenario import Scenario, ScenarioError, load_scenario
from kilowatt.simulator.simulation import Simulation

__all__ = ["app", "connection_errors", "rejection_hint", "run_simulation", "simulate"]

# Plain click help, as the other kilowatt commands (kilowatt.cli): rich's panels cut long
# option help at 80 columns when the output is not a terminal; click wraps it, up to 120.
CONTEXT_SETTINGS: dict[str, Any] = {"max_content_width": 120, "help_option_names": ["-h", "--help"]}

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    help="Charge point simulator (OCPP 1.6, 2.0.1, 2.1).",
    context_settings=CONTEXT_SETTINGS,
)


def _table(data: dict[str, Any], title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("stations connected", f"{data['connected']} / {data['stations']}"),
        ("sessions active", str(data["sessions_active"])),
        ("sessions completed", str(data["sessions_completed"])),
        ("stopped at the end", str(data.get("stopped_at_end", 0))),
        ("energy delivered", f"{data['energy_wh'] / 1000:.3f} kWh"),
        ("calls", str(data["calls"])),
        ("calls/s", f"{data['calls_per_s']:.1f}"),
        ("errors", str(data["errors"])),
        ("id tokens rejected", str(data.get("rejected", 0))),
        ("queued tx messages", str(data["queued"])),
        ("elapsed", f"{data['elapsed_s']:.1f} s"),
    ]
    if data.get("never_connected"):
        rows.append(("never connected", str(data["never_connected"])))
    for name, value in rows:
        table.add_row(name, value)
    return table


async def run_simulation(
    simulation: Simulation,
    *,
    live: bool,
    console: Console | None = None,
    warnings: bool = False,
) -> dict[str, Any]:
    """Run ``simulation`` to its end and return its summary.

    Args:
        simulation: the site to run (see :meth:`Simulation.run` for when it ends).
        live: show the rich live view (on ``console``) while it runs.
        console: where the live view and the warnings go; default: a console on stderr.
        warnings: print one ``warning: cannot connect to URL: reason; retrying`` line for each
            new kind of connection failure as it happens (the stations keep retrying).
    """
    console = console or Console(stderr=True)
    seen: set[str] = set()

    def warn_failures(sim: Simulation) -> None:
        if not warnings:
            return
        for station in sim.stations:
            failure = station.connect_failure
            if failure is not None and failure.reason not in seen:
                seen.add(failure.reason)
                console.print(
                    f"warning: {failure}; retrying", markup=False, highlight=False, soft_wrap=True
                )

    if not live:
        return await simulation.run(on_tick=warn_failures)
    title = f"kilowatt simulate · OCPP {simulation.scenario.version} · {simulation.url}"
    with Live(_table(simulation.summary(), title), console=console, refresh_per_second=4) as view:

        def tick(sim: Simulation) -> None:
            warn_failures(sim)
            view.update(_table(sim.summary(), title))

        summary = await simulation.run(on_tick=tick)
        view.update(_table(summary, title + " · done"))
    return summary


async def _run_until_signalled(simulation: Simulation, *, live: bool) -> dict[str, Any]:
    """:func:`run_simulation`, ended gracefully by the first SIGINT (Ctrl-C) or SIGTERM.

    The first signal ends the run the way ``--duration`` does (sessions stopped, their end
    messages delivered, bounded by :data:`~kilowatt.simulator.simulation.STOP_GRACE_S`); a
    second one cancels the run at once (``asyncio.run`` then raises CancelledError).
    Python's default SIGTERM would kill the process without either.
    """
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    received = 0

    def on_signal() -> None:
        nonlocal received
        received += 1
        if received == 1:
            simulation.end()
        elif main is not None:
            main.cancel()

    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal)
        except (NotImplementedError, RuntimeError):  # no signal handlers here (Windows)
            continue
        installed.append(signum)
    try:
        return await run_simulation(simulation, live=live, warnings=True)
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


_DEFAULTS = Scenario()
"""The defaults of an empty scenario, shown in the options' help."""


def _help(text: str, default: object) -> str:
    """``text`` followed by the option's default, the way the other ``kilowatt`` commands
    show it (click would print a ``show_default`` text as ``[default: (1)]``)."""
    return f"{text} [default: {default}]"


def simulate(
    url: Annotated[
        str,
        typer.Argument(
            help="CSMS endpoint without the identity (ws:// or wss://), "
            "e.g. ws://127.0.0.1:9000/ocpp; station SIM0001 connects to URL/SIM0001.",
            show_default=False,
        ),
    ],
    stations: Annotated[
        int | None,
        typer.Option(
            "--stations",
            "-n",
            min=1,
            help=_help("Number of stations.", _DEFAULTS.stations),
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version", "-v", help=_help("OCPP version: 1.6, 2.0.1 or 2.1.", _DEFAULTS.version)
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            "-d",
            min=0.001,
            help=_help(
                "Run time in wall-clock s; at the end running sessions are stopped.", "until Ctrl-C"
            ),
        ),
    ] = None,
    evses: Annotated[
        int | None,
        typer.Option("--evses", min=1, help=_help("EVSEs per station.", _DEFAULTS.evses)),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help=_help(
                "HTTP Basic-auth password, user = identity (security profile 1 or 2).", "none"
            ),
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            exists=True,
            dir_okay=False,
            help=_help(
                "PEM file of the CA certificate(s) to trust for a wss:// URL; a self-signed "
                "server certificate works as its own CA.",
                "the system's trust store",
            ),
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            "-s",
            exists=True,
            dir_okay=False,
            help=_help(
                "Scenario TOML file (see docs/simulator.md); the options override it.", "none"
            ),
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object with the results at the end.", show_default=True
        ),
    ] = False,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help=_help("Identity prefix (stations are <prefix>0001, ...).", _DEFAULTS.prefix),
        ),
    ] = None,
    time_scale: Annotated[
        float | None,
        typer.Option(
            "--time-scale",
            min=0.001,
            help=_help(
                "Simulated seconds per real second: sessions, intervals and energy run this "
                "much faster, while the timestamps sent to the CSMS stay real wall-clock time.",
                f"{_DEFAULTS.time_scale:g}",
            ),
        ),
    ] = None,
    sample_interval: Annotated[
        int | None,
        typer.Option(
            "--sample-interval",
            min=0,
            help=_help("Meter sample interval in simulated s.", _DEFAULTS.sample_interval_s),
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help=_help("Random seed for a reproducible run.", "random")),
    ] = None,
) -> None:
    """Simulate charging stations against the CSMS at URL.

    Options override the scenario file; the defaults shown are an empty scenario's. The run
    ends after --duration or at Ctrl-C / SIGTERM (a second one cuts it short): running sessions
    are stopped and their end messages delivered first. Exit status: 0; 1 when a station
    never connected (the reason is printed); 2 for a bad URL, scenario or option; 130 when a
    second interrupt cut the end short.
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
            ca_file=None if ca_file is None else str(ca_file),
            prefix=prefix,
            time_scale=time_scale,
            sample_interval_s=sample_interval,
            seed=seed,
        )
    except (ScenarioError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    live = not json_output and sys.stderr.isatty()
    cut_short = False
    try:
        summary = asyncio.run(_run_until_signalled(simulation, live=live))
    except (KeyboardInterrupt, asyncio.CancelledError):
        # A second interrupt (or one before the handlers were in place): no graceful end.
        cut_short = True
        summary = simulation.summary()
    if json_output:
        typer.echo(json.dumps(summary, sort_keys=True))
    elif not live:
        Console().print(_table(summary, "kilowatt simulate · summary"))
    hint = rejection_hint(summary)
    if hint:
        typer.echo(hint, err=True)
    problems = connection_errors(simulation)
    for line in problems:
        typer.echo(line, err=True)
    if cut_short:
        typer.echo("error: interrupted before the sessions were stopped", err=True)
        raise typer.Exit(130)
    if problems:
        raise typer.Exit(1)


def connection_errors(simulation: Simulation) -> list[str]:
    """The ``error: ...`` lines for stations that never connected during the run (empty when
    every station did): one per distinct failure reason, naming the first station's URL, e.g.
    ``error: cannot connect to ws://127.0.0.1:9/ocpp/SIM0001: connection refused``.

    Stations whose first attempt had not ended yet count only when no station connected at all
    (then there is no evidence that the CSMS answers anybody).
    """
    missing = simulation.never_connected()
    if not missing:
        return []
    total = len(simulation.stations)
    failures = [failure for _, failure in missing if failure is not None]
    if not failures:
        if len(missing) < total:
            return []
        return [f"error: no station connected to {simulation.url} during the run (no answer yet)"]
    by_reason: dict[str, list[ConnectFailure]] = {}
    for failure in failures:
        by_reason.setdefault(failure.reason, []).append(failure)
    lines = []
    if len(missing) < total:
        lines.append(f"error: {len(missing)} of {total} stations never connected")
    for same in by_reason.values():
        others = len(same) - 1
        more = f" (and {others} more station{'s' if others > 1 else ''})" if others else ""
        lines.append(f"error: {same[0]}{more}")
    return lines


def rejection_hint(summary: dict[str, Any]) -> str | None:
    """A hint for the operator when the CSMS refused every id token the simulator presented
    (a first trial against a CSMS that rejects unknown tokens), else None."""
    if summary.get("rejected", 0) and not summary.get("sessions_completed"):
        return (
            "note: the CSMS rejected the simulated id tokens, so no session started. Register "
            "them (Kilowatt: PUT /api/v1/id-tokens/SIMTOKEN01 ...) or start "
            "`kilowatt serve --trial` (what `make run` does) for a first look."
        )
    return None


app.command("simulate")(simulate)


def main() -> None:
    """Entry point of ``python -m kilowatt.simulator``: the simulate command on its own."""
    app()
