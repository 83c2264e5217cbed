"""The ``kilowatt`` command line.

``kilowatt serve`` runs the CSMS; every setting is a flag, an environment variable
``KILOWATT_<NAME>`` or a key of the ``--config`` TOML file (precedence in that order, see
:mod:`kilowatt.config`). ``kilowatt simulate`` and ``kilowatt ocpi ...`` delegate to their
packages, imported only when used so that ``serve`` starts fast.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from kilowatt import __version__
from kilowatt.config import ConfigError, Settings, load_settings
from kilowatt.logs import configure_logging

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Kilowatt: an open-source CSMS for OCPP 1.6, 2.0.1 and 2.1.",
)
stations_app = typer.Typer(no_args_is_help=True, help="Manage stations without the API.")
ocpi_app = typer.Typer(no_args_is_help=True, help="OCPI roaming partners.")
app.add_typer(stations_app, name="stations")
app.add_typer(ocpi_app, name="ocpi")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when it is installed (faster sockets), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _tune_gc() -> None:
    """Keep the cyclic garbage collector out of the way of a long-running server.

    Why: under load the collector's full (generation 2) passes walked every object the process
    had created at start (SQLAlchemy metadata, FastAPI routes, generated message classes) and
    stopped the event loop for ~70 ms each, 30+ times per minute: they were the slowest
    answers of the benchmark. :func:`gc.freeze` moves everything alive once the server has
    started to a permanent generation the collector never walks again, and the higher
    first threshold makes collections of the young generation rarer (the hot path creates few
    reference cycles; memory stays bounded because every collection still runs, just later).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


def _settings(explicit: dict[str, Any], config: Path | None) -> Settings:
    try:
        return load_settings(explicit, config_file=config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (env: KILOWATT_CONFIG).", dir_okay=False),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (env: KILOWATT_DATA_DIR).", file_okay=False),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL (env: KILOWATT_DATABASE_URL)."),
]


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Listen address (env: KILOWATT_HOST; default 0.0.0.0).")
    ] = None,
    ocpp_port: Annotated[
        int | None, typer.Option(help="OCPP WebSocket port (env: KILOWATT_OCPP_PORT; 9000).")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="HTTP API port (env: KILOWATT_HTTP_PORT; 8000).")
    ] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="Operator API bearer key (env: KILOWATT_API_KEY; generated if unset)."),
    ] = None,
    registration: Annotated[
        str | None,
        typer.Option(help="open | known: who may connect (env: KILOWATT_REGISTRATION; open)."),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="PEM certificate for wss:// (env: KILOWATT_TLS_CERT).", dir_okay=False),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(help="PEM private key for wss:// (env: KILOWATT_TLS_KEY).", dir_okay=False),
    ] = None,
    heartbeat_interval: Annotated[
        int | None, typer.Option(help="Heartbeat interval in s for BootNotification (300).")
    ] = None,
    boot_status: Annotated[
        str | None, typer.Option(help="Accepted | Pending | Rejected answer to BootNotification.")
    ] = None,
    accept_unknown_id_tokens: Annotated[
        bool | None,
        typer.Option(
            "--accept-unknown-id-tokens/--reject-unknown-id-tokens",
            help="Authorize id tokens that are not in the database.",
        ),
    ] = None,
    journal_retention: Annotated[
        int | None, typer.Option(help="Keep journaled frames this many s (0: forever).")
    ] = None,
    journal_max_messages: Annotated[
        int | None, typer.Option(help="Keep at most this many journaled frames (0: no limit).")
    ] = None,
    call_timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for a station's answer (30).")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="DEBUG, INFO, WARNING, ERROR (env: KILOWATT_LOG_LEVEL).")
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Public base URL of the HTTP server (for OCPI).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the CSMS: OCPP server and operator API in one process."""
    explicit = {
        "host": host,
        "ocpp_port": ocpp_port,
        "http_port": http_port,
        "data_dir": data_dir,
        "database_url": database_url,
        "api_key": api_key,
        "registration": registration,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
        "heartbeat_interval": heartbeat_interval,
        "boot_status": boot_status,
        "accept_unknown_id_tokens": accept_unknown_id_tokens,
        "journal_retention": journal_retention,
        "journal_max_messages": journal_max_messages,
        "call_timeout": call_timeout,
        "log_level": log_level,
        "public_url": public_url,
    }
    settings = _settings(explicit, config)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        typer.echo("error: --tls-cert and --tls-key go together", err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    from kilowatt.app import Kilowatt
    from kilowatt.app import serve as serve_node

    def started(node: Kilowatt) -> None:
        _tune_gc()
        if node.api_key_generated:
            # Printed once, on the run that created it; later runs read the file.
            typer.echo(
                f"Generated operator API key (stored in {settings.api_key_file}):\n"
                f"  {node.api_key}\n"
                f"Use it as: Authorization: Bearer <key>",
                err=True,
            )
        scheme = "wss" if settings.tls_enabled else "ws"
        typer.echo(
            f"Kilowatt {__version__}: OCPP {scheme}://{settings.host}:{node.ocpp_port}/ocpp/<id>"
            f"  API http://{settings.host}:{node.http_port}/api/v1  docs /docs",
            err=True,
        )

    try:
        _run(serve_node(settings, on_started=started))
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def version() -> None:
    """Print the Kilowatt version."""
    typer.echo(__version__)


try:  # The simulator registers its own options; import it only if it is installed.
    _simulator = importlib.import_module("kilowatt.simulator.cli")
    app.command(
        "simulate",
        help="Simulate charging stations against a CSMS (OCPP 1.6, 2.0.1, 2.1).",
    )(_simulator.simulate)
except ImportError:  # pragma: no cover - the simulator ships with Kilowatt

    @app.command("simulate")
    def simulate_missing() -> None:
        """Simulate charging stations (the simulator is not installed)."""
        typer.echo("error: kilowatt.simulator is not available in this installation", err=True)
        raise typer.Exit(1)


@stations_app.command("register")
def stations_register(
    station_id: Annotated[str, typer.Argument(help="Station identity (≤ 48 chars, no ':').")],
    password: Annotated[
        str | None, typer.Option(help="Basic-auth password, 16-40 chars (profiles 1, 2).")
    ] = None,
    profile: Annotated[int, typer.Option(help="Security profile 0, 1 or 2.", min=0, max=3)] = 0,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Register a station identity (needed with --registration known)."""
    settings = _settings({"data_dir": data_dir, "database_url": database_url}, config)

    async def register() -> str:
        from kilowatt.csms.errors import ServiceError
        from kilowatt.csms.services import Services
        from kilowatt.storage import Database

        db = Database(settings.database_url)
        try:
            await db.migrate()
            services = Services.create(db, settings)
            try:
                await services.stations.register(
                    station_id, security_profile=profile, password=password
                )
            except ServiceError as exc:
                return str(exc)
            return ""
        finally:
            await db.close()

    problem = _run(register())
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"registered {station_id} (security profile {profile})")


@ocpi_app.command("add-partner")
def ocpi_add_partner(
    name: Annotated[str, typer.Option("--name", help="Partner name, for operators.")],
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an OCPI partner and print its token A (to give to the eMSP out of band)."""
    settings = _settings({"data_dir": data_dir, "database_url": database_url}, config)
    try:
        ocpi = importlib.import_module("kilowatt.ocpi")
    except ImportError:
        ocpi = None
    create_partner = getattr(ocpi, "create_partner", None)
    if create_partner is None:
        typer.echo(
            "error: OCPI partner management is not available yet in this installation "
            "(kilowatt.ocpi.create_partner missing)",
            err=True,
        )
        raise typer.Exit(1)
    result = _run(create_partner(settings, name=name))
    typer.echo(result if isinstance(result, str) else str(result))


def main() -> None:
    """Entry point of the ``kilowatt`` script."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C outside serve
        sys.exit(130)
