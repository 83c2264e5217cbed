"""Settings loader: precedence flags > env > TOML > defaults, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilowatt.config import SETTING_NAMES, ConfigError, Settings, load_settings, settings_fields


def test_defaults() -> None:
    s = load_settings(env={})
    assert (s.host, s.ocpp_port, s.http_port) == ("0.0.0.0", 9000, 8000)
    assert s.data_dir == Path("./kilowatt-data")
    assert s.database_url == "sqlite+aiosqlite:///kilowatt-data/kilowatt.db"
    assert s.registration == "open" and s.boot_status == "Accepted"
    assert s.accept_unknown_id_tokens is False and s.api_key is None and not s.tls_enabled
    assert {f.name for f in settings_fields()} == set(SETTING_NAMES)


def test_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "kw.toml"
    toml.write_text(
        'ocpp_port = 9100\nhttp_port = 8100\nregistration = "known"\n'
        'heartbeat_interval = 120\n[ocpi]\ntoken = "x"\n'
    )
    env = {"KILOWATT_HTTP_PORT": "8200", "KILOWATT_CONFIG": str(toml), "KILOWATT_DATA_DIR": "/d"}
    s = load_settings({"ocpp_port": 9300, "api_key": None}, env=env)
    assert s.ocpp_port == 9300  # flag beats file
    assert s.http_port == 8200  # env beats file
    assert s.registration == "known" and s.heartbeat_interval == 120  # file beats default
    assert s.database_url == "sqlite+aiosqlite:////d/kilowatt.db"
    assert s.extra == {"ocpi": {"token": "x"}}
    s2 = load_settings(env={}, config_file=toml)
    assert s2.http_port == 8100


def test_parsing() -> None:
    env = {
        "KILOWATT_ACCEPT_UNKNOWN_ID_TOKENS": "yes",
        "KILOWATT_BOOT_STATUS": "pending",
        "KILOWATT_CALL_TIMEOUT": "2.5",
        "KILOWATT_LOG_LEVEL": "debug",
        "KILOWATT_OCPI_COUNTRY_CODE": "nl",
        "KILOWATT_OCPI_PARTY_ID": "kwt",
        "KILOWATT_PUBLIC_URL": "https://cpo.example/",
        "KILOWATT_TLS_CERT": "/c.pem",
        "KILOWATT_TLS_KEY": "/k.pem",
        "KILOWATT_DATABASE_URL": "postgresql+asyncpg://u@h/db",
    }
    s = load_settings(env=env)
    assert s.accept_unknown_id_tokens is True and s.boot_status == "Pending"
    assert s.call_timeout == 2.5 and s.log_level == "DEBUG"
    assert (s.ocpi_country_code, s.ocpi_party_id, s.public_url) == (
        "NL",
        "KWT",
        "https://cpo.example",
    )
    assert s.tls_enabled and s.database_url == "postgresql+asyncpg://u@h/db"


@pytest.mark.parametrize(
    ("explicit", "env", "message"),
    [
        (
            {},
            {"KILOWATT_OCPP_PORT": "abc"},
            "KILOWATT_OCPP_PORT: expected an integer from 1 to 65535",
        ),
        ({"http_port": 70000}, {}, "--http-port: expected an integer from 1 to 65535"),
        ({"registration": "closed"}, {}, "--registration: expected one of open, known"),
        ({}, {"KILOWATT_ACCEPT_UNKNOWN_ID_TOKENS": "maybe"}, "expected true or false"),
        ({}, {"KILOWATT_CALL_TIMEOUT": "0"}, "positive number of seconds"),
        ({"tls_cert": "/c.pem"}, {}, "tls_cert and tls_key must be given together"),
        ({"bogus": 1}, {}, "unknown setting 'bogus'"),
        ({}, {"KILOWATT_OCPI_PARTY_ID": "TOOLONG"}, "three-character party id"),
    ],
)
def test_errors(explicit: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings(explicit, env=env)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(env={}, config_file=tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("ocpp_port = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(env={}, config_file=bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("ocp_port = 1\n")
    with pytest.raises(ConfigError, match="unknown key 'ocp_port'"):
        load_settings(env={}, config_file=unknown)
    typed = tmp_path / "typed.toml"
    typed.write_text('ocpp_port = "x"\n')
    with pytest.raises(ConfigError, match="key 'ocpp_port': expected an integer"):
        load_settings(env={}, config_file=typed)


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().ocpp_port = 1  # type: ignore[misc]
