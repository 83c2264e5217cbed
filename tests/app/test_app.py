"""The composition root: start/stop, the handshake policies, TLS (profile 2), clean shutdown."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kilowatt.app import Kilowatt
from kilowatt.ocpp import v16
from kilowatt.transport import ConnectionClosed, HandshakeFailed, StationClient, connect_ocpp

from .conftest import API_KEY, node_settings, settled

PASSWORD = "correct-horse-battery"  # 21 characters: within OCPP's 16-40


@pytest.fixture
async def known_node(tmp_path: Path, database_url: str) -> AsyncIterator[Kilowatt]:
    node = Kilowatt(node_settings(tmp_path, database_url, registration="known"))
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


def url(node: Kilowatt, scheme: str = "ws") -> str:
    return f"{scheme}://127.0.0.1:{node.ocpp_port}/ocpp"


async def test_http_api_and_docs_share_the_loop(known_node: Kilowatt) -> None:
    base = f"http://127.0.0.1:{known_node.http_port}"
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/docs")).status_code == 200
        assert (await client.get("/api/v1/stations")).status_code == 401
        ok = await client.get("/api/v1/stations", headers={"Authorization": f"Bearer {API_KEY}"})
    assert ok.status_code == 200
    assert ok.json()["total"] == 0


async def test_known_registration_refuses_unknown_identity(known_node: Kilowatt) -> None:
    with pytest.raises(HandshakeFailed) as failed:
        await connect_ocpp(url(known_node), "STRANGER", StationClient)
    assert failed.value.status == 404
    assert not await known_node.services.stations.exists("STRANGER")


async def test_profile_1_needs_the_right_password(known_node: Kilowatt) -> None:
    await known_node.services.stations.register("P1", security_profile=1, password=PASSWORD)
    for password in (None, "wrong-password-123456"):
        with pytest.raises(HandshakeFailed) as failed:
            await connect_ocpp(url(known_node), "P1", StationClient, password=password)
        assert failed.value.status == 401
    async with connect_ocpp(url(known_node), "P1", StationClient, password=PASSWORD) as cp:
        answer = await cp.call(v16.HeartbeatRequest())
    assert answer.current_time


async def test_profile_2_over_plain_ws_is_a_downgrade(known_node: Kilowatt) -> None:
    await known_node.services.stations.register("P2", security_profile=2, password=PASSWORD)
    with pytest.raises(HandshakeFailed) as failed:
        await connect_ocpp(url(known_node), "P2", StationClient, password=PASSWORD)
    assert failed.value.status == 401


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_profile_2_over_tls(tmp_path: Path, database_url: str) -> None:
    cert, key = _self_signed(tmp_path)
    settings = node_settings(
        tmp_path, database_url, registration="known", tls_cert=cert, tls_key=key
    )
    node = Kilowatt(settings)
    await node.start()
    try:
        await node.services.stations.register("P2", security_profile=2, password=PASSWORD)
        client_tls = ssl.create_default_context(cafile=str(cert))
        async with connect_ocpp(
            url(node, "wss"), "P2", StationClient, password=PASSWORD, ssl=client_tls
        ) as cp:
            boot = await cp.call(
                v16.BootNotificationRequest(charge_point_vendor="Acme", charge_point_model="TLS")
            )
            assert boot.status == v16.BootNotificationStatus.ACCEPTED
        with pytest.raises(HandshakeFailed) as failed:
            await connect_ocpp(
                url(node, "wss"), "P2", StationClient, password="x" * 20, ssl=client_tls
            )
        assert failed.value.status == 401
    finally:
        await node.stop()


async def test_open_registration_creates_station(tmp_path: Path, database_url: str) -> None:
    node = Kilowatt(node_settings(tmp_path, database_url))
    await node.start()
    try:
        async with connect_ocpp(url(node), "NEW-1", StationClient) as cp:
            await cp.call(v16.HeartbeatRequest())
        station = await node.services.stations.get("NEW-1")
        assert station.ocpp_version == "1.6"
    finally:
        await node.stop()


async def test_stop_closes_stations_and_commits(tmp_path: Path, database_url: str) -> None:
    node = Kilowatt(node_settings(tmp_path, database_url))
    await node.start()
    cp: Any = await connect_ocpp(url(node), "CP-STOP", StationClient)
    answer = await cp.call(
        v16.StartTransactionRequest(
            connector_id=1, id_tag="T", meter_start=5, timestamp="2025-01-01T00:00:00Z"
        )
    )
    await node.stop()
    await cp.connection.wait_closed()
    with pytest.raises(ConnectionClosed):
        await cp.call(v16.HeartbeatRequest())
    assert cp.connection.websocket.close_code == 1001  # going away: a close frame, not a drop

    # A new node on the same database sees the acknowledged transaction, the station marked
    # disconnected, and the journal frames (flushed at shutdown).
    again = Kilowatt(node_settings(tmp_path, database_url))
    await again.start()
    try:
        tx = await again.services.transactions.get(answer.transaction_id)
        assert tx.station_id == "CP-STOP"
        station = await again.services.stations.get("CP-STOP")
        assert not station.connected
        journal = await again.services.journal.list("CP-STOP")
        assert journal.total >= 2
    finally:
        await again.stop()


async def test_station_log_lines_carry_identity(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from kilowatt.logs import StationFilter

    node = Kilowatt(node_settings(tmp_path, database_url))
    await node.start()
    handler_filter = StationFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        async with connect_ocpp(url(node), "LOG-1", StationClient) as cp:
            await cp.call(v16.HeartbeatRequest())

        async def logged() -> bool:
            return any(getattr(r, "station", None) == "LOG-1" for r in caplog.records)

        assert await settled(logged)
    finally:
        caplog.handler.removeFilter(handler_filter)
        await node.stop()
