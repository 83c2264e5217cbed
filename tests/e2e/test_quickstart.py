"""The README's quick start, followed literally (issue 10, "a first run that charges").

The commands are read from README.md itself, not copied here, so the test fails when the README
and the product drift apart: ``make run``'s ``kilowatt serve`` arguments come from the Makefile's
``run`` recipe, the ``kilowatt simulate`` and ``curl`` lines from the README's quick-start block.
Only the ports (9000/8000, which a shared machine may have taken) and the data directory are
replaced. The run must end with completed charging sessions visible through the operator API.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest
import websockets
from websockets import Subprotocol

from tests.e2e.support import KILOWATT, SAFETY, KilowattServer

ROOT = Path(__file__).resolve().parents[2]
BOOT = {"chargePointVendor": "Quick", "chargePointModel": "Start"}


def _quick_start_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert blocks, "README quick start has no sh block"
    return "\n".join(blocks)


def _commands(block: str) -> list[str]:
    """The block's shell commands, continuation lines joined, comments dropped."""
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            commands.append(" ".join(line.split()))
    return commands


def _make_run_args() -> list[str]:
    """The arguments ``make run`` passes to ``kilowatt serve`` (from the Makefile recipe)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    (line,) = [x for x in recipe.splitlines() if "kilowatt serve" in x]
    return shlex.split(line.split("kilowatt serve", 1)[1])


def test_readme_quick_start_ends_with_a_completed_session(tmp_path: Path) -> None:
    commands = _commands(_quick_start_block())
    assert any(c.startswith("make run") for c in commands)
    (simulate,) = [c for c in commands if " simulate " in c]
    (curl,) = [c for c in commands if c.startswith("curl ")]

    server = KilowattServer(
        data_dir=tmp_path / "kilowatt-data",
        database_url=None,
        api_key_flag=False,  # as a new user: the key is generated and stored in the data dir
        extra_args=_make_run_args(),
    )
    server.data_dir.mkdir()
    server.start()
    try:

        def local(command: str) -> str:
            return (
                command.replace(":9000", f":{server.ocpp_port}")
                .replace(":8000", f":{server.http_port}")
                .replace("kilowatt-data/", f"{server.data_dir}/")
            )

        argv = shlex.split(local(simulate))
        assert argv[0].endswith("kilowatt")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KILOWATT_")}
        done = subprocess.run(
            [str(KILOWATT), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=SAFETY * 4,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 0, done.stderr

        # The curl line: bearer key from the file the first start wrote, completed transactions.
        url = re.search(r'"(http://[^"]+)"', local(curl))
        assert url is not None, curl
        assert "$(cat" in curl and "api_key" in curl
        key = (server.data_dir / "api_key").read_text().strip()
        answer = httpx.get(url.group(1), headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert answer.status_code == 200
        body = answer.json()
        assert body["total"] >= 1
        completed = body["items"][0]
        assert completed["status"] == "completed"
        assert completed["energy_wh"] is not None and completed["energy_wh"] >= 0

        # The run stopped its sessions: nothing stays active once the simulator has exited.
        active = httpx.get(
            f"{server.api_url}/transactions",
            params={"status": "active"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert active.status_code == 200
        assert active.json()["total"] == 0
    finally:
        server.stop()


def test_make_run_prints_trial_mode_and_next_steps(tmp_path: Path) -> None:
    server = KilowattServer(
        data_dir=tmp_path, database_url=None, api_key_flag=False, extra_args=_make_run_args()
    )
    server.start()
    try:
        log = server.log_tail()
    finally:
        server.stop()
    assert "TRIAL MODE" in log
    assert "Next steps" in log and " simulate ws://127.0.0.1:" in log
    key = (tmp_path / "api_key").read_text().strip()
    assert key in log  # printed once, on the run that generated it
    # No library chatter at INFO: Alembic's plugin lines and migration docstrings stay out.
    assert "logger=alembic" not in log and "logger=uvicorn" not in log


@pytest.mark.parametrize("trial", [False, True])
async def test_unknown_id_tokens_are_accepted_only_in_trial_mode(
    tmp_path: Path, trial: bool
) -> None:
    args = ["--trial"] if trial else []
    server = KilowattServer(data_dir=tmp_path, database_url=None, extra_args=args)
    server.start()
    try:
        async with websockets.connect(
            server.ocpp_url("QS1"), subprotocols=[Subprotocol("ocpp1.6")]
        ) as ws:
            await ws.send(json.dumps([2, "b", "BootNotification", BOOT]))
            assert json.loads(await ws.recv())[2]["status"] == "Accepted"
            await ws.send(json.dumps([2, "a", "Authorize", {"idTag": "NEVERSEEN01"}]))
            answer = json.loads(await ws.recv())
        log = server.log_tail()
    finally:
        server.stop()
    assert answer[:2] == [3, "a"]
    assert answer[2]["idTagInfo"]["status"] == ("Accepted" if trial else "Invalid")
    assert ("TRIAL MODE" in log) is trial
    assert ("Unknown id tokens are rejected" in log) is not trial
