"""The CLI and the docs tell the truth (issue 10, items 5 and 6).

- every setting of the configuration reference exists as the flag the table names, and every
  setting of :mod:`kilowatt.config` is in the table;
- ``--help`` is wrapped, never cut with an ellipsis, and shows each setting's default;
- commands refuse what Kilowatt cannot do instead of pretending (``--profile 3`` while profile 3
  is not served, an OCPI partner while OCPI is off).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import typer.main

from kilowatt import cli
from kilowatt.config import SETTING_NAMES

ROOT = Path(__file__).resolve().parents[1]
KILOWATT = Path(sys.executable).parent / "kilowatt"


def _serve_flags() -> set[str]:
    command = typer.main.get_command(cli.app)
    serve = command.commands["serve"]  # type: ignore[attr-defined]
    return {opt for param in serve.params for opt in (*param.opts, *param.secondary_opts)}


def _reference_rows() -> dict[str, str]:
    """Setting name → the flag cell of docs/reference/configuration.md's table."""
    text = (ROOT / "docs" / "reference" / "configuration.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0] in SETTING_NAMES:
            rows[cells[0]] = cells[1]
    return rows


def test_configuration_reference_lists_every_setting_with_a_real_flag() -> None:
    rows = _reference_rows()
    assert set(rows) == set(SETTING_NAMES)
    flags = _serve_flags()
    for name, cell in rows.items():
        for flag in re.findall(r"`(--[a-z-]+)`", cell):
            assert flag in flags, f"{name}: {flag} is documented but `kilowatt serve` lacks it"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILOWATT_")}
    env["COLUMNS"] = "80"
    return subprocess.run(
        [str(KILOWATT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_serve_help_is_wrapped_not_cut_and_shows_defaults() -> None:
    result = _run("serve", "--help")
    assert result.returncode == 0
    assert "…" not in result.stdout
    flat = " ".join(result.stdout.split())
    assert "KILOWATT_OCPP_PORT; default: 9000" in flat
    assert "KILOWATT_TRIAL; default: off" in flat
    assert "--ocpi-country-code" in flat


def test_register_refuses_security_profile_3(tmp_path: Path) -> None:
    result = _run("stations", "register", "CP1", "--profile", "3", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert not (tmp_path / "kilowatt.db").exists()


def test_ocpi_add_partner_refuses_while_ocpi_is_off(tmp_path: Path) -> None:
    result = _run("ocpi", "add-partner", "--name", "Acme", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "OCPI is off" in result.stderr
    assert "token_a" not in result.stdout


def test_ocpi_add_partner_with_ocpi_on_prints_token_and_warns_without_public_url(
    tmp_path: Path,
) -> None:
    config = tmp_path / "kilowatt.toml"
    config.write_text('ocpi_country_code = "NL"\nocpi_party_id = "KWT"\n')
    result = _run(
        "ocpi",
        "add-partner",
        "--name",
        "Acme",
        "--data-dir",
        str(tmp_path),
        "--config",
        str(config),
    )
    assert result.returncode == 0, result.stderr
    assert "token_a" in result.stdout and "/ocpi/versions" in result.stdout
    assert "public_url is not set" in result.stderr
