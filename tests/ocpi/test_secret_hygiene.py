"""OCPI credentials tokens never in clear where Kilowatt does not need them (issue 12 item 6).

Both registration handshakes run over real HTTP against the fake eMSP, with every logger at
DEBUG (httpx, httpcore, uvicorn, Kilowatt). Then: no token appears in any log line as
Kilowatt's formatter writes it, none in Kilowatt's own log messages even before formatting,
the tokens we issue (A, C) are in no database file (only their SHA-256), and the partner's
token (which we must send back) is not in a partner snapshot's ``repr``.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kilowatt.logs import LogfmtFormatter, configure_logging
from kilowatt.ocpi.store import hash_token

from .conftest import Cpo, Emsp, register
from .servers import auth


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, with the library levels ``kilowatt serve --log-level debug`` sets.

    :func:`~kilowatt.logs.configure_logging` itself would replace the capture handler, so it
    runs on a scratch stream and its per-library levels stay; the root goes back to DEBUG.
    """
    names = ("websockets", "aiosqlite", "alembic", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {name: logging.getLogger(name).level for name in names}
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("DEBUG", io.StringIO())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name, saved_level in saved.items():
        logging.getLogger(name).setLevel(saved_level)


def _all_logs(caplog: pytest.LogCaptureFixture) -> tuple[str, str]:
    """The captured records as Kilowatt writes them, and Kilowatt's own raw messages."""
    formatter = LogfmtFormatter()
    written = "\n".join(formatter.format(r) for r in caplog.records)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("kilowatt"))
    return written, ours


def _database_bytes(tmp_path: Path) -> bytes:
    """Every SQLite file of the CPO (database, WAL, journal) as bytes."""
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("ocpi.db*")))


def _forms(token: str) -> list[str]:
    """A token as it could leak: clear and as the base64 of an ``Authorization`` header."""
    return [token, base64.b64encode(token.encode()).decode()]


async def test_partner_initiated_registration_leaks_no_token(
    cpo: Cpo,
    emsp: Emsp,
    http: httpx.AsyncClient,
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog = debug_logs
    _, token_a, _ = await cpo.ocpi.create_partner("Fake eMSP")
    token_c = await register(cpo, emsp, http)
    token_b = "emsp-B-token"
    # A failed call with a bad token is logged by uvicorn and answered 401: its token neither.
    bad = "not-a-token-but-a-secret-guess-0123456789"
    r = await http.get(f"{cpo.url}/ocpi/versions", headers=auth(bad))
    assert r.status_code == 401
    # The registered partner works with C: we really issued it.
    r = await http.get(f"{cpo.url}/ocpi/versions", headers=auth(token_c))
    assert r.status_code == 200
    await cpo.engine.dispose()  # SQLite writes its WAL back: the files hold every row

    written, ours = _all_logs(caplog)
    assert caplog.records  # the DEBUG capture did see the HTTP traffic
    for secret in [token_a, token_c, token_b, bad]:
        for form in _forms(secret):
            assert form not in written
            assert form not in ours
    stored = _database_bytes(tmp_path)
    assert hash_token(token_c).encode() in stored
    for secret in [token_c, *_forms(token_a)]:
        assert secret.encode() not in stored


async def test_kilowatt_initiated_registration_leaks_no_token(
    cpo: Cpo, emsp: Emsp, debug_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog = debug_logs
    emsp.fake.accepted_tokens = {"emsp-token-A-0123456789abcdef"}
    partner_id, token_a, _ = await cpo.ocpi.create_partner("Fake eMSP")
    await cpo.ocpi.register_with(partner_id, emsp.versions_url, "emsp-token-A-0123456789abcdef")
    partner = await cpo.ocpi.store.get_partner(partner_id)
    assert partner is not None and partner.their_token == emsp.fake.their_token_for_cpo
    assert partner.their_token not in repr(partner)
    token_c = emsp.fake.cpo_token  # what we sent the eMSP in our Credentials
    await cpo.engine.dispose()

    written, ours = _all_logs(caplog)
    for secret in [token_a, token_c, partner.their_token, "emsp-token-A-0123456789abcdef"]:
        for form in _forms(secret):
            assert form not in written
            assert form not in ours
    stored = _database_bytes(tmp_path)
    for secret in [token_a, token_c]:
        assert secret.encode() not in stored
