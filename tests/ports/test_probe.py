"""The probe against real listeners on 127.0.0.1: plain TCP, TLS of several ages, SSH, silence."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from garrison.ports import probe
from garrison.ports.probe import Handshake, ProbeState, ProbeTarget

LOOPBACK = "127.0.0.1"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed RSA certificate for CN=garrison-probe-test."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "garrison-probe-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(
    certificate: tuple[Path, Path],
    version: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    if version is not None:
        with warnings.catch_warnings():  # TLS 1.0 is deprecated: that is what we test
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = version
    if ciphers is not None:
        context.set_ciphers(ciphers)
    return context


async def _wait_for_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(ConnectionError, ssl.SSLError):
        await reader.read()
    writer.close()


@asynccontextmanager
async def serving(
    handler: Handler = _wait_for_eof, context: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    """A server on a free loopback port for the duration of the block; yields the port."""
    server = await asyncio.start_server(handler, LOOPBACK, 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


async def probe_one(
    key: str, port: int, handshake: Handshake, timeout: float = 3.0
) -> probe.ProbeResult:
    (result,) = await probe.probe_all(LOOPBACK, [ProbeTarget(key, port, handshake)], timeout)
    return result


async def test_tls_server_reports_version_cipher_and_certificate(
    certificate: tuple[Path, Path],
) -> None:
    context = server_context(certificate, ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384")
    async with serving(context=context) as port:
        result = await probe_one("https", port, Handshake.TLS)
    assert result.state is ProbeState.OPEN
    assert result.tls_version == "TLSv1.2"
    assert result.cipher == "ECDHE-RSA-AES256-GCM-SHA384"
    assert "CN=garrison-probe-test" in result.detail


async def test_modern_server_is_reported_as_tls_1_3(certificate: tuple[Path, Path]) -> None:
    async with serving(context=server_context(certificate)) as port:
        result = await probe_one("client-api", port, Handshake.TLS)
    assert result.tls_version == "TLSv1.3"
    assert result.cipher and result.cipher.startswith("TLS_")


async def test_legacy_server_is_reported_truthfully(certificate: tuple[Path, Path]) -> None:
    """TLS 1.0 with TLS_RSA_WITH_AES_128_CBC_SHA, the oldest pair the SMS reference lists."""
    try:
        context = server_context(certificate, ssl.TLSVersion.TLSv1, "AES128-SHA:@SECLEVEL=0")
    except (ssl.SSLError, ValueError) as exc:
        pytest.skip(f"this OpenSSL cannot serve TLS 1.0 at all: {exc}")
    async with serving(context=context) as port:
        result = await probe_one("provision", port, Handshake.TLS)
    assert (result.tls_version, result.cipher) == ("TLSv1", "AES128-SHA"), result.detail


async def test_plain_tcp_service_is_open() -> None:
    async with serving() as port:
        result = await probe_one("anything", port, Handshake.NONE)
    assert result.state is ProbeState.OPEN
    assert result.tls_version is None


async def test_ssh_banner_is_reported() -> None:
    async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-GarrisonTest\r\n")
        await writer.drain()
        await _wait_for_eof(reader, writer)

    async with serving(ssh) as port:
        result = await probe_one("ssh-cli", port, Handshake.SSH)
    assert (result.state, result.detail) == (ProbeState.OPEN, "SSH-2.0-GarrisonTest")


async def test_nothing_listening_is_closed() -> None:
    result = await probe_one("https", closed_port(), Handshake.TLS)
    assert result.state is ProbeState.CLOSED
    assert not result.answered


async def test_a_plain_server_on_a_tls_port_is_open_without_tls() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        await writer.drain()
        writer.close()

    async with serving(hang_up) as port:
        result = await probe_one("https", port, Handshake.TLS)
    assert result.state is ProbeState.OPEN
    assert result.tls_version is None
    assert "TLS" in result.detail


async def test_silent_services_are_probed_concurrently_within_the_timeout() -> None:
    async with serving() as first, serving() as second:
        targets = [
            ProbeTarget("https", first, Handshake.TLS),
            ProbeTarget("restore", second, Handshake.TLS),
            ProbeTarget("provision", closed_port(), Handshake.TLS),
        ]
        started = time.monotonic()
        results = await probe.probe_all(LOOPBACK, targets, timeout=1.0)
        elapsed = time.monotonic() - started
    assert [r.target.key for r in results] == ["https", "restore", "provision"]
    assert [r.state for r in results] == [ProbeState.OPEN, ProbeState.OPEN, ProbeState.CLOSED]
    assert results[0].detail == "TLS handshake timed out"
    assert elapsed < 1.9, "two silent services waited one after the other"


def test_targets_are_the_tcp_listeners_at_the_ports_given() -> None:
    targets = probe.targets(lambda key: {"https": 8443}.get(key, 1))
    assert {t.key: t.handshake for t in targets} == {
        "ssh-cli": Handshake.SSH,
        "client-api": Handshake.TLS,
        "client-backup": Handshake.TLS,
        "https": Handshake.TLS,
        "restore": Handshake.TLS,
        "provision": Handshake.TLS,
        "syslog-tcp": Handshake.NONE,
        "syslog-tls": Handshake.TLS,
    }
    assert next(t.port for t in targets if t.key == "https") == 8443


def test_records_and_summary() -> None:
    target = ProbeTarget("https", 443, Handshake.TLS)
    results = [
        probe.ProbeResult(target, ProbeState.OPEN, "TLSv1.3", "TLS_AES_256_GCM_SHA384"),
        probe.ProbeResult(target, ProbeState.CLOSED, detail="connection refused"),
    ]
    assert probe.result_record(results[0]) == {
        "key": "https",
        "port": 443,
        "state": "open",
        "tls_version": "TLSv1.3",
        "cipher": "TLS_AES_256_GCM_SHA384",
        "detail": "",
    }
    assert probe.summary("sms.example", results) == "sms.example: 1 of 2 TCP services answered"
