"""A weak configured API key stops ``kilowatt serve`` at start (issue 12 item 2); ``--trial``
only warns. The rule itself: :func:`kilowatt.api.security.api_key_problem`."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest

from kilowatt.api.security import MIN_API_KEY_LENGTH, api_key_problem

from .support import API_KEY, KILOWATT, KilowattServer, free_port

WEAK = {
    "short": "changeme",
    "one class": "a" * 40,
    "digits only": "1234567890" * 4,
    "few distinct": "aB1" * 12,
    "space": "correct horse battery staple 0123456789",
}


@pytest.mark.parametrize("key", list(WEAK.values()), ids=list(WEAK))
def test_weak_keys_are_named_as_weak(key: str) -> None:
    assert api_key_problem(key) is not None


@pytest.mark.parametrize(
    "key",
    [
        secrets.token_urlsafe(32),  # what Kilowatt generates
        "0123456789abcdef" * 2,  # a hex key of 128 bits
        "3f2b8c1e-5d4a-4b7e-9c0f-1a2b3c4d5e6f",  # a UUID
        API_KEY,
    ],
)
def test_strong_keys_pass(key: str) -> None:
    assert len(key) >= MIN_API_KEY_LENGTH
    assert api_key_problem(key) is None


def _serve(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KILOWATT_")}
    clean.update(env or {})
    command = [
        str(KILOWATT),
        "serve",
        "--host",
        "127.0.0.1",
        "--ocpp-port",
        str(free_port()),
        "--http-port",
        str(free_port()),
        "--data-dir",
        str(tmp_path),
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=clean, timeout=120, check=False
    )


@pytest.mark.parametrize("source", ["flag", "env"])
def test_serve_refuses_a_weak_key(tmp_path: Path, source: str) -> None:
    if source == "flag":
        result = _serve(tmp_path, "--api-key", "changeme")
    else:
        result = _serve(tmp_path, env={"KILOWATT_API_KEY": "changeme"})
    assert result.returncode == 2
    assert "error: the API key has 8 characters, at least 32" in result.stderr
    assert "KILOWATT_API_KEY" in result.stderr
    assert not (tmp_path / "kilowatt.db").exists()  # refused before anything was opened


def test_trial_mode_warns_and_runs(tmp_path: Path) -> None:
    server = KilowattServer(
        data_dir=tmp_path,
        database_url=None,
        api_key_flag=False,
        extra_args=["--trial", "--api-key", "changeme"],
    )
    server.start()
    try:
        answer = httpx.get(
            f"{server.api_url}/stations", headers={"Authorization": "Bearer changeme"}, timeout=10
        )
        assert answer.status_code == 200
    finally:
        server.stop()
    assert "warning: the API key has 8 characters" in server.log_tail()
