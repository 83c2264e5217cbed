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
import shutil
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from kilowatt import __version__
from kilowatt.config import ENV_PREFIX, ConfigError, Settings, load_settings
from kilowatt.logs import configure_logging

__all__ = ["app", "main"]

T = TypeVar("T")

# Plain click help (not rich panels): rich cuts long option help with "…" at 80 columns when
# the output is not a terminal; click wraps it instead.
_CONTEXT = {"max_content_width": 120, "help_option_names": ["-h", "--help"]}

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=_CONTEXT,
    help="Kilowatt: an open-source CSMS for OCPP 1.6, 2.0.1 and 2.1.",
)
stations_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=_CONTEXT,
    help="Manage stations without the API.",
)
ocpi_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=_CONTEXT,
    help="OCPI roaming partners.",
)
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


_DEFAULTS = Settings()


def _help(text: str, name: str) -> str:
    """``text`` followed by the setting's environment variable and its default (from
    :class:`~kilowatt.config.Settings`, so the help cannot drift from the code)."""
    default = getattr(_DEFAULTS, name)
    if name == "database_url":
        shown = "SQLite file kilowatt.db in the data directory"
    elif isinstance(default, bool):
        shown = "on" if default else "off"
    elif default is None:
        shown = "unset"
    else:
        shown = str(default)
    return f"{text} [env: {ENV_PREFIX}{name.upper()}; default: {shown}]"


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML settings file [env: KILOWATT_CONFIG; default: none].", dir_okay=False
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help=_help("Data directory.", "data_dir"), file_okay=False),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help=_help("SQLAlchemy URL, e.g. postgresql+asyncpg://user@host/db.", "database_url"),
    ),
]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help=_help("Listen address.", "host"))] = None,
    ocpp_port: Annotated[
        int | None, typer.Option(help=_help("OCPP WebSocket port.", "ocpp_port"))
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(help=_help("HTTP port (API, /docs, OCPI).", "http_port")),
    ] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            help=_help("Operator API bearer key (generated and stored if unset).", "api_key")
        ),
    ] = None,
    registration: Annotated[
        str | None,
        typer.Option(help=_help("open | known: who may connect.", "registration")),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help=_help("PEM certificate for wss://.", "tls_cert"), dir_okay=False),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(help=_help("PEM private key for wss://.", "tls_key"), dir_okay=False),
    ] = None,
    heartbeat_interval: Annotated[
        int | None,
        typer.Option(
            help=_help("Heartbeat interval in s sent in BootNotification.", "heartbeat_interval")
        ),
    ] = None,
    boot_status: Annotated[
        str | None,
        typer.Option(
            help=_help("Accepted | Pending | Rejected answer to BootNotification.", "boot_status")
        ),
    ] = None,
    accept_unknown_id_tokens: Annotated[
        bool | None,
        typer.Option(
            "--accept-unknown-id-tokens/--reject-unknown-id-tokens",
            help=_help(
                "Authorize id tokens that are not in the database.", "accept_unknown_id_tokens"
            ),
        ),
    ] = None,
    trial: Annotated[
        bool | None,
        typer.Option(
            "--trial",
            help=_help(
                "Trial mode for a first run or a lab: any station may connect and any id token "
                "may charge (overrides --registration and --reject-unknown-id-tokens).",
                "trial",
            ),
        ),
    ] = None,
    journal_retention: Annotated[
        int | None,
        typer.Option(
            help=_help("Keep journaled frames this many s (0: forever).", "journal_retention")
        ),
    ] = None,
    journal_max_messages: Annotated[
        int | None,
        typer.Option(
            help=_help(
                "Keep at most this many journaled frames (0: no limit).", "journal_max_messages"
            )
        ),
    ] = None,
    call_timeout: Annotated[
        float | None,
        typer.Option(help=_help("Seconds to wait for a station's answer.", "call_timeout")),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(help=_help("DEBUG, INFO, WARNING, ERROR.", "log_level")),
    ] = None,
    ocpi_country_code: Annotated[
        str | None,
        typer.Option(
            help=_help(
                "OCPI: this CPO's ISO 3166-1 country code (enables OCPI).", "ocpi_country_code"
            )
        ),
    ] = None,
    ocpi_party_id: Annotated[
        str | None,
        typer.Option(
            help=_help("OCPI: this CPO's 3-character party id (enables OCPI).", "ocpi_party_id")
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(help=_help("Public base URL of the HTTP server (for OCPI).", "public_url")),
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
        "trial": trial,
        "journal_retention": journal_retention,
        "journal_max_messages": journal_max_messages,
        "call_timeout": call_timeout,
        "log_level": log_level,
        "ocpi_country_code": ocpi_country_code,
        "ocpi_party_id": ocpi_party_id,
        "public_url": public_url,
    }
    settings = _settings(explicit, config)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        typer.echo("error: --tls-cert and --tls-key go together", err=True)
        raise typer.Exit(2)
    _check_api_key(settings)
    configure_logging(settings.log_level)
    from kilowatt.app import Kilowatt
    from kilowatt.app import serve as serve_node

    def started(node: Kilowatt) -> None:
        _tune_gc()
        typer.echo(start_banner(settings, node), err=True)

    try:
        _run(serve_node(settings, on_started=started))
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _check_api_key(settings: Settings) -> None:
    """Refuse a weak configured API key (exit 2); under ``--trial`` only warn.

    A lab run may use a short key on purpose; a real site never runs in trial mode. The
    generated key is not checked: it is random and long.
    """
    if settings.api_key is None:
        return
    from kilowatt.api.security import api_key_problem

    problem = api_key_problem(settings.api_key)
    if problem is None:
        return
    if settings.trial:
        typer.echo(f"warning: {problem} (accepted only because of --trial)", err=True)
        return
    typer.echo(f"error: {problem} (--api-key / KILOWATT_API_KEY / api_key)", err=True)
    raise typer.Exit(2)


def _command_name() -> str:
    """How the user can call this program again: ``kilowatt`` when that is on PATH and is us,
    else the path they used (e.g. ``.venv/bin/kilowatt`` after ``make run``)."""
    invoked = Path(sys.argv[0])
    on_path = shutil.which("kilowatt")
    if on_path is not None and Path(on_path).resolve() == invoked.resolve():
        return "kilowatt"
    try:
        return str(invoked.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


def start_banner(settings: Settings, node: Any) -> str:
    """The block ``kilowatt serve`` prints once both servers listen: where to connect, the API
    key (in full only on the run that generated it), the trial-mode warning, and next steps.

    Args:
        settings: the node's settings.
        node: the started :class:`~kilowatt.app.Kilowatt` (its bound ports and API key).

    Returns:
        Multi-line text for stderr, after the start-up log lines.
    """
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    scheme = "wss" if settings.tls_enabled else "ws"
    ocpp = f"{scheme}://{host}:{node.ocpp_port}/ocpp"
    http = f"http://{host}:{node.http_port}"
    key_file = settings.api_key_file
    rule = "─" * 78
    lines = [
        rule,
        f"Kilowatt {__version__} is running.",
        f"  OCPP       {ocpp}/<station identity>   (OCPP 1.6, 2.0.1, 2.1)",
        f"  API        {http}/api/v1",
        f"  API docs   {http}/docs",
    ]
    if node.api_key_generated:
        lines.append(f"  API key    {node.api_key}")
        lines.append(f"             (generated now, printed once, stored in {key_file})")
    elif settings.api_key is None:
        lines.append(f"  API key    in {key_file}")
    else:
        lines.append("  API key    the one you configured (--api-key / KILOWATT_API_KEY)")
    if settings.trial:
        lines += [
            "",
            "  TRIAL MODE: any station may connect and ANY id token may charge.",
            "  Never run a real site like this: see docs/howto/security.md.",
        ]
    elif settings.accept_unknown_id_tokens:
        lines += ["", "  WARNING: unknown id tokens are accepted (--accept-unknown-id-tokens)."]
    key = f"$(cat {key_file})" if settings.api_key is None else "$KILOWATT_API_KEY"
    lines += [
        "",
        "Next steps, in another terminal:",
        f"  {_command_name()} simulate {ocpp} --stations 2 --duration 60 --time-scale 600",
        f'  curl -H "Authorization: Bearer {key}" "{http}/api/v1/transactions?status=completed"',
    ]
    if not settings.accept_unknown_id_tokens:
        lines += [
            "  Unknown id tokens are rejected: register the cards that may charge first",
            f"  (PUT {http}/api/v1/id-tokens/<id token>, see docs/howto/api.md), or run",
            "  with --trial for a first look.",
        ]
    lines.append(rule)
    return "\n".join(lines)


@app.command()
def version() -> None:
    """Print the Kilowatt version."""
    typer.echo(__version__)


try:  # The simulator registers its own options; import it only if it is installed.
    _simulator = importlib.import_module("kilowatt.simulator.cli")
    app.command("simulate")(_simulator.simulate)
except ImportError:  # pragma: no cover - the simulator ships with Kilowatt

    @app.command("simulate")
    def simulate_missing() -> None:
        """Simulate charging stations (the simulator is not installed)."""
        typer.echo("error: kilowatt.simulator is not available in this installation", err=True)
        raise typer.Exit(1)


@stations_app.command("register")
def stations_register(
    station_id: Annotated[
        str, typer.Argument(help="Station identity: 1-48 of A-Z a-z 0-9 - . _ ~ *.")
    ],
    password: Annotated[
        str | None, typer.Option(help="Basic-auth password, 16-40 chars (profiles 1, 2).")
    ] = None,
    profile: Annotated[
        int | None,
        typer.Option(
            help="Security profile: 0 (none), 1 (Basic auth) or 2 (TLS + Basic auth). "
            "Default: 1 with --password, else 0; 0 with --password is refused.",
            min=0,
            max=2,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Register a station identity (needed with --registration known)."""
    from kilowatt.csms.identity import check_identity

    if (bad_id := check_identity(station_id)) is not None:
        typer.echo(f"error: {bad_id}", err=True)
        raise typer.Exit(2)
    settings = _settings({"data_dir": data_dir, "database_url": database_url}, config)

    async def register() -> tuple[str, int]:
        from kilowatt.csms.errors import ServiceError
        from kilowatt.csms.services import Services
        from kilowatt.storage import Database
        from kilowatt.storage.sql import SqlRepositories

        db = Database(settings.database_url)
        try:
            await db.migrate()
            services = Services.create(SqlRepositories(db), settings)
            try:
                info = await services.stations.register(
                    station_id, security_profile=profile, password=password
                )
            except ServiceError as exc:
                return str(exc), -1
            return "", info.security_profile
        finally:
            await db.close()

    problem, registered_profile = _run(register())
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"registered {station_id} (security profile {registered_profile})")


@stations_app.command("invalid")
def stations_invalid(
    delete: Annotated[
        bool,
        typer.Option("--delete", help="Delete them and all their data (transactions, journal...)."),
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """List (or delete) stations whose identity breaks the identity rule.

    Rows created before the rule existed (``a/b``, ``CP:1``, ``..``, control characters) cannot
    be read or deleted through the API. Identities are printed as Python string literals, so
    control characters are visible. Exit code 0; the last line gives the count.
    """
    settings = _settings({"data_dir": data_dir, "database_url": database_url}, config)

    async def invalid() -> list[tuple[str, str]]:
        from kilowatt.csms.services import Services
        from kilowatt.storage import Database
        from kilowatt.storage.sql import SqlRepositories

        db = Database(settings.database_url)
        try:
            await db.migrate()
            services = Services.create(SqlRepositories(db), settings)
            found = await services.stations.invalid_identities()
            if delete:
                for station_id, _ in found:
                    await services.stations.delete(station_id)
                await services.flush()
            return found
        finally:
            await db.close()

    found = _run(invalid())
    for station_id, reason in found:
        typer.echo(f"{station_id!r}\t{reason}")
    verb = "deleted" if delete else "found"
    typer.echo(f"{len(found)} station(s) with an invalid identity {verb}")


@ocpi_app.command("add-partner")
def ocpi_add_partner(
    name: Annotated[str, typer.Option("--name", help="Partner name, for operators.")],
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an OCPI partner and print its token A (to give to the eMSP out of band)."""
    settings = _settings({"data_dir": data_dir, "database_url": database_url}, config)
    if not settings.ocpi_country_code or not settings.ocpi_party_id:
        # A partner created now could not register: the node serves no /ocpi routes.
        typer.echo(
            "error: OCPI is off on this node: set ocpi_country_code and ocpi_party_id "
            "(--ocpi-country-code/--ocpi-party-id of `kilowatt serve`, KILOWATT_OCPI_COUNTRY_CODE/"
            "KILOWATT_OCPI_PARTY_ID, or the TOML keys) first",
            err=True,
        )
        raise typer.Exit(1)
    if settings.public_url is None:
        typer.echo(
            "warning: public_url is not set, so the versions URL below is only reachable from "
            "this machine; set KILOWATT_PUBLIC_URL (or public_url) to the address partners use",
            err=True,
        )
    public_url = settings.public_url or f"http://127.0.0.1:{settings.http_port}"

    async def add_partner() -> str:
        from kilowatt.ocpi import create_partner
        from kilowatt.ocpi.store import OcpiStore
        from kilowatt.storage import Database

        db = Database(settings.database_url)
        try:
            await db.migrate()
            store = OcpiStore(db.engine, db.write)
            return await create_partner(store, name=name, public_url=public_url)
        finally:
            await db.close()

    typer.echo(_run(add_partner()))


def main() -> None:
    """Entry point of the ``kilowatt`` script."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C outside serve
        sys.exit(130)
