"""Kilowatt settings and the loader that merges flags, environment, TOML file and defaults.

Every setting has one name used in four places (see ``docs/reference/configuration.md``):

- a CLI flag ``--ocpp-port`` (the composition root passes parsed flags as ``explicit`` values),
- an environment variable ``KILOWATT_OCPP_PORT``,
- a key ``ocpp_port`` in an optional TOML file (``--config`` / ``KILOWATT_CONFIG``),
- a default in :class:`Settings`.

Precedence: explicit values > environment > TOML file > defaults. A bad value raises
:class:`ConfigError` whose message names where the value came from, e.g.
``KILOWATT_OCPP_PORT: expected an integer from 1 to 65535, got 'abc'``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ENV_PREFIX",
    "SETTING_NAMES",
    "ConfigError",
    "Settings",
    "load_settings",
    "settings_fields",
]

ENV_PREFIX = "KILOWATT_"

Registration = Literal["open", "known"]
BootStatus = Literal["Accepted", "Pending", "Rejected"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ConfigError(ValueError):
    """A setting has a bad value or the TOML file cannot be read.

    The message starts with the source of the value (flag, environment variable or file key).
    """


@dataclass(frozen=True, slots=True)
class Settings:
    """All settings of a Kilowatt node. Immutable; build one with :func:`load_settings`.

    Durations are in seconds. ``database_url`` defaults to a SQLite file in ``data_dir``
    (filled in by ``__post_init__`` when left empty).
    """

    host: str = "0.0.0.0"
    """Address both servers listen on (OCPP WebSocket and HTTP)."""
    ocpp_port: int = 9000
    """TCP port of the OCPP WebSocket server (ws://, or wss:// when TLS is configured)."""
    http_port: int = 8000
    """TCP port of the HTTP server: operator API ``/api/v1``, ``/docs``, OCPI ``/ocpi``."""
    data_dir: Path = Path("./kilowatt-data")
    """Directory holding the SQLite database and the generated API key."""
    database_url: str = ""
    """SQLAlchemy async URL; ``sqlite+aiosqlite:///<data_dir>/kilowatt.db`` when empty."""
    api_key: str | None = field(default=None, repr=False)  # repr(): never in a log line
    """Bearer key of the operator API; generated and stored in ``data_dir`` when unset."""
    registration: Registration = "open"
    """``open``: unknown identities are registered on first connect; ``known``: HTTP 404."""
    tls_cert: Path | None = None
    """PEM server certificate (chain) for wss:// (security profile 2). Needs ``tls_key``."""
    tls_key: Path | None = None
    """PEM private key of ``tls_cert``."""
    auth_throttle_failures: int = 5
    """Failed station logins (Basic auth) of one identity before it is throttled: each further
    failure blocks it for 1 s, 2 s, 4 s... (HTTP 429 with ``Retry-After``)."""
    auth_throttle_address_failures: int = 20
    """The same per remote address (higher: stations behind one NAT share an address)."""
    auth_throttle_max_delay: int = 300
    """Longest block in s of a throttled identity or address; 0 turns throttling off."""
    heartbeat_interval: int = 300
    """Heartbeat interval in s sent in the BootNotification response (OCPP 1.6 4.2, 2.0.1 B01)."""
    boot_status: BootStatus = "Accepted"
    """Registration status answered to BootNotification."""
    accept_unknown_id_tokens: bool = False
    """Authorize id tokens that are not in the database (and no remote authorizer knows)."""
    trial: bool = False
    """Trial mode for a first run or a lab: forces ``registration = "open"`` and
    ``accept_unknown_id_tokens = true`` whatever they are set to, and ``kilowatt serve`` says so
    loudly at start. Never on a real site."""
    journal_retention: int = 7 * 24 * 3600
    """Message journal: frames older than this many s are pruned; 0 keeps them forever."""
    journal_max_messages: int = 1_000_000
    """Message journal: at most this many frames are kept (oldest pruned first); 0 = no limit."""
    journal_max_frame_bytes: int = 64 * 1024
    """Message journal: a frame above this many bytes (UTF-8) is stored as a placeholder with
    its first bytes, its size and its SHA-256, never whole (at least 1024)."""
    journal_max_bytes_per_station: int = 16 * 1024 * 1024
    """Message journal: bytes of frames kept per station, oldest pruned first; 0 = no limit."""
    journal_max_bytes: int = 1024 * 1024 * 1024
    """Message journal: bytes of frames kept in all, oldest pruned first; 0 = no limit."""
    journal_page_max_bytes: int = 4 * 1024 * 1024
    """API ``GET /stations/{id}/messages``: a page holds frames up to this many bytes in all
    (at least one frame), whatever its ``limit``."""
    ocpp_inbound_rate: int = 100
    """Messages per s one station may send on average; over it, its socket is read slower
    (backpressure, nothing dropped). 0 = no limit."""
    ocpp_inbound_burst: int = 200
    """Messages one station may send at once above ``ocpp_inbound_rate``."""
    ocpp_violation_budget: int = 100
    """Protocol violations (refused frames) one station may make per ``ocpp_violation_window``;
    one more closes its connection with code 1008. 0 = never closed for violations."""
    ocpp_violation_window: int = 60
    """The window of ``ocpp_violation_budget``, in s."""
    call_timeout: float = 30.0
    """Default time in s to wait for a station's answer to a CSMS-initiated CALL."""
    log_level: LogLevel = "INFO"
    """Python logging level name."""
    ocpi_country_code: str | None = None
    """OCPI: ISO 3166-1 alpha-2 country code of this CPO (e.g. ``NL``)."""
    ocpi_party_id: str | None = None
    """OCPI: ISO 15118 party id of this CPO, three characters (e.g. ``KWT``)."""
    public_url: str | None = None
    """Base URL under which partners reach this node's HTTP server, e.g. ``https://cpo.example``."""

    extra: Mapping[str, Any] = field(default_factory=dict)
    """Unknown TOML tables kept verbatim for other components (never from env or flags)."""

    def __post_init__(self) -> None:
        if self.trial:
            object.__setattr__(self, "registration", "open")
            object.__setattr__(self, "accept_unknown_id_tokens", True)
        if not self.database_url:
            url = f"sqlite+aiosqlite:///{self.data_dir / 'kilowatt.db'}"
            object.__setattr__(self, "database_url", url)

    @property
    def tls_enabled(self) -> bool:
        """True when both ``tls_cert`` and ``tls_key`` are set (OCPP server speaks wss://)."""
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def api_key_file(self) -> Path:
        """Where a generated API key is stored (mode 0600)."""
        return self.data_dir / "api_key"


# --- parsing -------------------------------------------------------------------------------------


def _parse_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _parse_optional_str(value: Any) -> str | None:
    text = _parse_str(value)
    return text or None


def _parse_int_range(lo: int, hi: int | None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if isinstance(value, int | str) else None
            if number is None:
                raise ValueError
        except ValueError:
            bound = f"from {lo} to {hi}" if hi is not None else f"≥ {lo}"
            raise ValueError(f"expected an integer {bound}, got {value!r}") from None
        if number < lo or (hi is not None and number > hi):
            bound = f"from {lo} to {hi}" if hi is not None else f"≥ {lo}"
            raise ValueError(f"expected an integer {bound}, got {value!r}")
        return number

    return parse


def _parse_positive_float(value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a positive number of seconds, got {value!r}") from None
    if not number > 0:
        raise ValueError(f"expected a positive number of seconds, got {value!r}")
    return number


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
    raise ValueError(f"expected true or false, got {value!r}")


def _parse_path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, str) and value:
        return Path(value).expanduser()
    raise ValueError(f"expected a path, got {value!r}")


def _parse_optional_path(value: Any) -> Path | None:
    if value == "":
        return None
    return _parse_path(value)


def _parse_choice(*choices: str, fold: bool = False) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, str):
            for choice in choices:
                if value == choice or (fold and value.lower() == choice.lower()):
                    return choice
        raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")

    return parse


def _parse_country_code(value: Any) -> str | None:
    text = _parse_optional_str(value)
    if text is not None and not (len(text) == 2 and text.isalpha()):
        raise ValueError(f"expected a two-letter ISO 3166-1 country code, got {value!r}")
    return text.upper() if text else None


def _parse_party_id(value: Any) -> str | None:
    text = _parse_optional_str(value)
    if text is not None and not (len(text) == 3 and text.isalnum()):
        raise ValueError(f"expected a three-character party id, got {value!r}")
    return text.upper() if text else None


def _parse_url(value: Any) -> str | None:
    text = _parse_optional_str(value)
    if text is not None and not text.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return text.rstrip("/") if text else None


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "host": _parse_str,
    "ocpp_port": _parse_int_range(1, 65535),
    "http_port": _parse_int_range(1, 65535),
    "data_dir": _parse_path,
    "database_url": _parse_str,
    "api_key": _parse_optional_str,
    "registration": _parse_choice("open", "known", fold=True),
    "tls_cert": _parse_optional_path,
    "tls_key": _parse_optional_path,
    "auth_throttle_failures": _parse_int_range(1, None),
    "auth_throttle_address_failures": _parse_int_range(1, None),
    "auth_throttle_max_delay": _parse_int_range(0, 86400),
    "heartbeat_interval": _parse_int_range(1, None),
    "boot_status": _parse_choice("Accepted", "Pending", "Rejected", fold=True),
    "accept_unknown_id_tokens": _parse_bool,
    "trial": _parse_bool,
    "journal_retention": _parse_int_range(0, None),
    "journal_max_messages": _parse_int_range(0, None),
    "journal_max_frame_bytes": _parse_int_range(1024, None),
    "journal_max_bytes_per_station": _parse_int_range(0, None),
    "journal_max_bytes": _parse_int_range(0, None),
    "journal_page_max_bytes": _parse_int_range(1024, None),
    "ocpp_inbound_rate": _parse_int_range(0, None),
    "ocpp_inbound_burst": _parse_int_range(1, None),
    "ocpp_violation_budget": _parse_int_range(0, None),
    "ocpp_violation_window": _parse_int_range(1, None),
    "call_timeout": _parse_positive_float,
    "log_level": _parse_choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", fold=True),
    "ocpi_country_code": _parse_country_code,
    "ocpi_party_id": _parse_party_id,
    "public_url": _parse_url,
}

SETTING_NAMES: tuple[str, ...] = tuple(_PARSERS)
"""Names of every setting (TOML keys; upper-cased with ``KILOWATT_`` for the environment)."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_settings(
    explicit: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | str | None = None,
) -> Settings:
    """Build :class:`Settings` from explicit values, environment, a TOML file and defaults.

    Args:
        explicit: values given on the command line, keyed by setting name (``"ocpp_port"``).
            ``None`` values mean "not given" and are skipped, so a CLI can pass every option.
        env: the environment to read ``KILOWATT_<NAME>`` from; ``os.environ`` when omitted.
        config_file: a TOML file whose top-level keys are setting names. When omitted, the
            ``KILOWATT_CONFIG`` variable names it; with neither, no file is read. Other
            top-level tables (e.g. ``[ocpi]``) are kept in :attr:`Settings.extra`.

    Raises:
        ConfigError: an unknown key in ``explicit`` or the file, an unreadable file, or a value
            that does not parse; the message names the flag, variable or file key.
    """
    environ = os.environ if env is None else env
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}

    path = config_file if config_file is not None else environ.get(ENV_PREFIX + "CONFIG")
    if path:
        path = Path(path)
        for key, raw in _read_toml(path).items():
            if key in _PARSERS:
                values[key] = _convert(_PARSERS[key], raw, f"{path}: key {key!r}")
            elif isinstance(raw, dict):
                extra[key] = raw
            else:
                known = ", ".join(SETTING_NAMES)
                raise ConfigError(f"{path}: unknown key {key!r} (known keys: {known})")

    for name, parse in _PARSERS.items():
        var = ENV_PREFIX + name.upper()
        if var in environ:
            values[name] = _convert(parse, environ[var], var)

    for name, raw in (explicit or {}).items():
        if raw is None:
            continue
        if name not in _PARSERS:
            raise ConfigError(f"unknown setting {name!r}")
        values[name] = _convert(_PARSERS[name], raw, _flag(name))

    if (values.get("tls_cert") is None) != (values.get("tls_key") is None):
        raise ConfigError("tls_cert and tls_key must be given together (--tls-cert, --tls-key)")
    return Settings(**values, extra=extra)


def _convert(parse: Callable[[Any], Any], raw: Any, source: str) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def settings_fields() -> list[dataclasses.Field[Any]]:
    """The dataclass fields of :class:`Settings` that are settings (for docs and ``--help``)."""
    return [f for f in dataclasses.fields(Settings) if f.name in _PARSERS]
