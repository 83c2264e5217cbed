"""Small units: token header parsing, pagination headers, version conversion, layering."""

from __future__ import annotations

import ast
import base64
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

import kilowatt.ocpi
from kilowatt.ocpi.convert import from_wire, price_to_v221, to_wire
from kilowatt.ocpi.envelope import OcpiError
from kilowatt.ocpi.http import token_candidates
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.pagination import ListQuery, Page, page_headers, parse_query


def test_token_candidates() -> None:
    b64 = base64.b64encode(b"abc-123").decode()
    assert token_candidates(f"Token {b64}") == ["abc-123", b64]
    assert token_candidates("Token raw-token") == ["raw-token"]
    assert token_candidates("token   spaced ") == ["spaced"]
    assert token_candidates("Bearer x") == [] and token_candidates(None) == []
    assert token_candidates("Token") == []


def test_parse_query_caps_limit_and_rejects_garbage() -> None:
    q = parse_query({"limit": "500", "offset": "3"}, default_limit=50, max_limit=100)
    assert (q.offset, q.limit) == (3, 100)
    q = parse_query({"date_from": "2026-01-01T00:00:00"}, default_limit=50, max_limit=100)
    assert q.date_from == datetime(2026, 1, 1, tzinfo=UTC)  # no designator: UTC
    for bad in ({"limit": "x"}, {"offset": "-1"}, {"date_to": "yesterday"}):
        with pytest.raises(OcpiError) as e:
            parse_query(bad, default_limit=50, max_limit=100)
        assert e.value.status_code == 2001


def test_page_headers() -> None:
    q = ListQuery(offset=0, limit=2)
    h = page_headers("http://x/ocpi/cpo/2.2.1/cdrs", {"limit": "2"}, q, Page([1, 2], 5), 100)
    assert h == {
        "X-Total-Count": "5",
        "X-Limit": "2",
        "Link": '<http://x/ocpi/cpo/2.2.1/cdrs?offset=2&limit=2>; rel="next"',
    }
    last = page_headers("http://x", {}, ListQuery(4, 2), Page([5], 5), 100)
    assert "Link" not in last
    beyond = page_headers("http://x", {}, ListQuery(10, 2), Page([], 5), 100)
    assert "Link" not in beyond and beyond["X-Total-Count"] == "5"


def test_price_downgrade() -> None:
    assert price_to_v221({"before_taxes": 1}) == {"excl_vat": 1}
    assert price_to_v221({"before_taxes": 1, "taxes": [{"name": "VAT", "amount": 0.21}]}) == {
        "excl_vat": 1,
        "incl_vat": 1.21,
    }
    assert price_to_v221({"before_taxes": 1, "after_taxes": 1.1}) == {
        "excl_vat": 1,
        "incl_vat": 1.1,
    }


def _token(**kw: object) -> dict[str, object]:
    return {
        "country_code": "DE",
        "party_id": "EMS",
        "uid": "U1",
        "type": "RFID",
        "contract_id": "C1",
        "issuer": "x",
        "valid": True,
        "whitelist": "ALWAYS",
        "last_updated": "2026-01-01T00:00:00Z",
        **kw,
    }


def test_emaid_tokens_only_in_2_3_0() -> None:
    assert from_wire(_token(type="EMAID"), v230.Token, "2.3.0").type is v230.TokenType.EMAID
    with pytest.raises(ValidationError):
        from_wire(_token(type="EMAID"), v230.Token, "2.2.1")
    token = v230.Token.model_validate(_token(type="EMAID"))
    with pytest.raises(ValidationError):
        to_wire(token, "2.2.1")


def test_optional_fields_omitted_and_numbers_exact() -> None:
    price = v230.Price(before_taxes=Decimal("0.1234"))
    assert price.to_wire() == {"before_taxes": 0.1234}
    token = v230.Token.model_validate(_token())
    assert "visual_number" not in to_wire(token, "2.2.1")
    assert to_wire(token, "2.2.1")["last_updated"] == "2026-01-01T00:00:00Z"


def test_ocpi_does_not_import_csms_handlers_or_transport() -> None:
    forbidden = ("kilowatt.csms", "kilowatt.handlers", "kilowatt.transport")
    root = Path(kilowatt.ocpi.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


async def test_cli_create_partner(tmp_path: Path) -> None:
    from kilowatt.ocpi import create_partner
    from kilowatt.ocpi.store import OcpiStore
    from kilowatt.storage import Database

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'k.db'}")
    try:
        await db.migrate()
        store = OcpiStore(db.engine, db.write)
        out = await create_partner(store, name="Acme", public_url="https://cpo.example/")
        fields = dict(line.split(maxsplit=1) for line in out.splitlines())
        assert fields["versions_url"] == "https://cpo.example/ocpi/versions"
        found = await store.find_by_token(fields["token_a"])
    finally:
        await db.close()
    assert found is not None and found[0].id == fields["id"] and found[1] == "A"
