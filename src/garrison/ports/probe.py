"""Probe the TCP services of a running Garrison: which answer, and what TLS they speak.

``garrison ports check HOST`` uses it. The probe reports, it does not trust: certificates
are not verified, and every protocol version and cipher the local OpenSSL still knows is
offered, so a server stuck on TLS 1.0 is reported as such instead of failing the handshake.

The I/O is :func:`probe_all` (asyncio, every target at once, each within its own time
budget); choosing the targets and turning results into records are pure functions.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography import x509

from garrison.ports.catalog import CATALOG, PortEntry, speaks_tls

DEFAULT_TIMEOUT = 3.0
# OpenSSL's SSL_OP_LEGACY_SERVER_CONNECT; the ssl module names it from Python 3.12 on.
_OP_LEGACY_SERVER_CONNECT = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)


class Handshake(StrEnum):
    """What the probe does once the TCP connection is up."""

    TLS = "tls"  # a TLS handshake, then report version, cipher and certificate
    SSH = "ssh"  # read the server's identification line
    NONE = "none"  # the connection answering is all there is to know


class ProbeState(StrEnum):
    OPEN = "open"  # the TCP connection was accepted
    CLOSED = "closed"  # refused: nothing listens there
    TIMEOUT = "timeout"  # no answer in time: filtered, or the host is down
    ERROR = "error"  # anything else (unreachable network, unknown host, port 0)


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    key: str
    port: int
    handshake: Handshake


@dataclass(frozen=True, slots=True)
class ProbeResult:
    target: ProbeTarget
    state: ProbeState
    tls_version: str | None = None
    cipher: str | None = None
    detail: str = ""

    @property
    def answered(self) -> bool:
        return self.state is ProbeState.OPEN


def handshake_of(entry: PortEntry) -> Handshake:
    if speaks_tls(entry):
        return Handshake.TLS
    if entry.service == "SSH":
        return Handshake.SSH
    return Handshake.NONE


def targets(
    port_of: Callable[[str], int], entries: Iterable[PortEntry] = CATALOG
) -> tuple[ProbeTarget, ...]:
    """The TCP services Garrison listens on, each at the port ``port_of(key)`` gives."""
    return tuple(
        ProbeTarget(e.key, port_of(e.key), handshake_of(e))
        for e in entries
        if e.listener and e.transport == "tcp"
    )


def probe_context() -> ssl.SSLContext:
    """A client context that accepts any certificate and offers every protocol it can."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    # Security level 0 lets OpenSSL 3 offer TLS 1.0/1.1 and the old RSA key-exchange suites
    # the SMS reference lists; a probe must see what an old server really negotiates.
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.options |= _OP_LEGACY_SERVER_CONNECT
    return context


def _certificate_summary(der: bytes | None) -> str:
    if not der:
        return "no certificate"
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return "unparsable certificate"
    expires = cert.not_valid_after_utc.date().isoformat()
    return f"certificate {cert.subject.rfc4514_string() or '(empty subject)'}, expires {expires}"


async def _handshake(
    target: ProbeTarget,
    host: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
) -> ProbeResult:
    if target.handshake is Handshake.SSH:
        banner = (await reader.readline()).decode("ascii", "replace").strip()
        detail = banner if banner.startswith("SSH-") else "answers, but sent no SSH banner"
        return ProbeResult(target, ProbeState.OPEN, detail=detail)
    if target.handshake is Handshake.NONE:
        return ProbeResult(target, ProbeState.OPEN)
    try:
        await writer.start_tls(context, server_hostname=host)
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        return ProbeResult(target, ProbeState.OPEN, detail=f"TLS handshake failed: {reason}")
    except (ConnectionError, asyncio.IncompleteReadError):
        return ProbeResult(target, ProbeState.OPEN, detail="closed during the TLS handshake")
    tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
    cipher = tls.cipher()
    return ProbeResult(
        target,
        ProbeState.OPEN,
        tls_version=tls.version(),
        cipher=cipher[0] if cipher else None,
        detail=_certificate_summary(tls.getpeercert(binary_form=True)),
    )


async def probe_one(
    host: str, target: ProbeTarget, timeout: float, context: ssl.SSLContext
) -> ProbeResult:
    """Connect to one service and handshake with it, all within ``timeout`` seconds."""
    if target.port == 0:
        return ProbeResult(
            target, ProbeState.ERROR, detail="port 0 (any free port) in the settings"
        )
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        async with asyncio.timeout_at(deadline):
            reader, writer = await asyncio.open_connection(host, target.port)
    except ConnectionRefusedError:
        return ProbeResult(target, ProbeState.CLOSED, detail="connection refused")
    except TimeoutError:
        return ProbeResult(target, ProbeState.TIMEOUT, detail=f"no answer in {timeout:g} s")
    except OSError as exc:
        return ProbeResult(target, ProbeState.ERROR, detail=exc.strerror or str(exc))
    try:
        async with asyncio.timeout_at(deadline):
            return await _handshake(target, host, reader, writer, context)
    except TimeoutError:
        step = "TLS handshake" if target.handshake is Handshake.TLS else "banner"
        return ProbeResult(target, ProbeState.OPEN, detail=f"{step} timed out")
    except OSError as exc:
        return ProbeResult(target, ProbeState.OPEN, detail=exc.strerror or str(exc))
    finally:
        writer.close()
        # Give a TLS server a moment to take its close_notify; never wait on a slow peer.
        with suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 0.5)


async def probe_all(
    host: str, targets: Iterable[ProbeTarget], timeout: float = DEFAULT_TIMEOUT
) -> tuple[ProbeResult, ...]:
    """Probe every target concurrently; results come back in the targets' order."""
    context = probe_context()
    return tuple(await asyncio.gather(*(probe_one(host, t, timeout, context) for t in targets)))


def result_record(result: ProbeResult) -> dict[str, Any]:
    """A result as plain JSON-ready data."""
    return {
        "key": result.target.key,
        "port": result.target.port,
        "state": str(result.state),
        "tls_version": result.tls_version,
        "cipher": result.cipher,
        "detail": result.detail,
    }


def summary(host: str, results: Iterable[ProbeResult]) -> str:
    """One line saying how many services answered."""
    results = tuple(results)
    answered = sum(r.answered for r in results)
    return f"{host}: {answered} of {len(results)} TCP services answered"
