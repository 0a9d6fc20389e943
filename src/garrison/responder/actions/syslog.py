"""The syslog action: one line about the response to a remote syslog server or SIEM.

Formats (pure functions, no sockets):

* ``rfc5424``: ``<PRI>1 TIMESTAMP HOST garrison PID responder-<phase> [SD] MSG``, where the
  structured data is ``[garrison@32473 policy=".." response=".." address=".." ...]``.
  Garrison has no IANA Private Enterprise Number of its own yet; 32473 is the number
  RFC 5612 reserves for documentation and examples, used here so the SD-ID is well
  formed. ``SD_ID`` changes when Garrison registers a PEN.
* ``cef``: ArcSight CEF with the syslog prefix the CEF specification shows
  (``<PRI>Mmm dd HH:MM:SS host CEF:0|Garrison|Responder|version|responder:<phase>|...``),
  escaped as the specification says.

Transports: UDP (one datagram a message, RFC 5426), TCP (RFC 6587 octet counting) and TLS
(RFC 5425, octet counting too). ``send_syslog`` is the reusable sender (the threshold
notifications use it as well).

Defaults: facility ``local4`` (20), a local-use facility, so the site routes Garrison's
lines with a rule of its own and they do not mix into the host's auth log; set ``auth``
(4) to match what a TippingPoint SMS sends. Severity ``warning`` (4).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from garrison import __version__, ports
from garrison.collectors.syslog.message import FACILITIES, SEVERITIES
from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionType,
)
from garrison.responder.actions.outbound_tls import outbound_tls_context
from garrison.responder.actions.registry import register
from garrison.responder.templates import render

Transport = Literal["udp", "tcp", "tls"]
Format = Literal["rfc5424", "cef"]

_SEVERITY_ALIASES = {"emergency": 0, "panic": 0, "critical": 2, "error": 3, "warn": 4}
DEFAULT_FACILITY = FACILITIES.index("local4")
DEFAULT_SEVERITY = SEVERITIES.index("warning")
# CEF severity (0-10) for each syslog severity (0 emerg .. 7 debug).
CEF_SEVERITY = (10, 10, 9, 8, 6, 4, 2, 1)

SD_ID = "garrison@32473"
VENDOR, PRODUCT = "Garrison", "Responder"
DEFAULT_MESSAGE = (
    "policy {policy} {phase} actions for {address} (response {response_id}, trigger "
    "{trigger}): {signature}"
)
MAX_UDP_PAYLOAD = 65_507  # the most one IPv4 UDP datagram carries
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _level(value: object, names: tuple[str, ...], what: str, aliases: Mapping[str, int]) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a syslog {what}")
    if isinstance(value, int):
        if 0 <= value < len(names):
            return value
        raise ValueError(f"syslog {what} {value} is out of range 0-{len(names) - 1}")
    if isinstance(value, str):
        key = value.strip().lower()
        if key.isdigit():
            return _level(int(key), names, what, aliases)
        if key in names:
            return names.index(key)
        if key in aliases:
            return aliases[key]
        raise ValueError(f"unknown syslog {what} {value!r}; known: {', '.join(names)}")
    raise ValueError(f"{value!r} is not a syslog {what}")


class SyslogConfig(ActionConfig):
    """Settings of one syslog action in a policy."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("message",)

    host: str = Field(min_length=1, max_length=253, description="syslog server or SIEM")
    port: int = Field(ports.get("responder-syslog").port, ge=1, le=65535)
    transport: Transport = "udp"
    format: Format = "rfc5424"
    facility: int = Field(DEFAULT_FACILITY, description="name (local4) or number (20)")
    severity: int = Field(DEFAULT_SEVERITY, description="name (warning) or number (4)")
    message: str = Field(DEFAULT_MESSAGE, max_length=16_000)
    app_name: str = Field("garrison", min_length=1, max_length=48)
    verify_tls: bool = True
    ca_file: str = Field("", description="PEM bundle to verify the server; empty: system CAs")
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("facility", mode="before")
    @classmethod
    def _facility(cls, value: object) -> int:
        return _level(value, FACILITIES, "facility", {})

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: object) -> int:
        return _level(value, SEVERITIES, "severity", _SEVERITY_ALIASES)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() or c in "/[]" for c in value):
            raise ValueError(f"{value!r} is not a host name or address")
        return value

    @field_validator("app_name")
    @classmethod
    def _app_name(cls, value: str) -> str:
        if not all(33 <= ord(c) <= 126 for c in value):
            raise ValueError(f"{value!r}: APP-NAME is printable ASCII without spaces")
        return value


# --- formats -----------------------------------------------------------------------


def escape_sd_value(value: str) -> str:
    """An RFC 5424 PARAM-VALUE: '"', '\\' and ']' escaped with a backslash (6.3.3)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _header_field(value: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII, at most ``limit`` characters, ``-``
    for nothing."""
    clean = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return clean or "-"


def format_rfc5424(
    *,
    facility: int,
    severity: int,
    timestamp: datetime,
    hostname: str,
    app_name: str,
    procid: str,
    msgid: str,
    structured: Mapping[str, Mapping[str, str]],
    message: str,
) -> bytes:
    """One RFC 5424 message. The MSG is UTF-8 with its BOM, as 6.4 asks; trailing line
    breaks and NULs are dropped (receivers take them for framing and strip them)."""
    stamp = timestamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    sd = "".join(
        "[" + sd_id + "".join(f' {k}="{escape_sd_value(v)}"' for k, v in params.items()) + "]"
        for sd_id, params in structured.items()
    )
    header = " ".join(
        (
            f"<{facility * 8 + severity}>1",
            stamp,
            _header_field(hostname, 255),
            _header_field(app_name, 48),
            _header_field(procid, 128),
            _header_field(msgid, 32),
            sd or "-",
        )
    )
    message = message.rstrip("\r\n\0")
    if not message:
        return header.encode()
    return header.encode() + b" \xef\xbb\xbf" + message.encode()


def escape_cef_header(value: str) -> str:
    """A CEF header field: '\\' and '|' escaped; line breaks, which the header cannot
    hold, become spaces."""
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def escape_cef_value(value: str) -> str:
    """A CEF extension value: '\\', '=' escaped, line breaks as ``\\n``/``\\r``. Trailing
    blanks are dropped: a reader cannot tell them from the space before the next key."""
    value = value.rstrip(" \t").replace("\\", "\\\\").replace("=", "\\=")
    return value.replace("\r", "\\r").replace("\n", "\\n")


def format_cef(
    *,
    signature_id: str,
    name: str,
    severity: int,
    extension: Mapping[str, str],
    vendor: str = VENDOR,
    product: str = PRODUCT,
    version: str = __version__,
) -> str:
    """``CEF:0|vendor|product|version|signature id|name|severity|key=value ...``; keys
    are ours (fixed names), values are escaped."""
    if not 0 <= severity <= 10:
        raise ValueError(f"CEF severity {severity} is out of range 0-10")
    head = "|".join(escape_cef_header(v) for v in (vendor, product, version, signature_id, name))
    pairs = " ".join(f"{key}={escape_cef_value(value)}" for key, value in extension.items())
    return f"CEF:0|{head}|{severity}|{pairs}"


def cef_extension(
    *,
    address: str,
    mac: str,
    user: str,
    policy: str,
    response_id: int,
    trigger: str,
    act: str,
    timestamp: datetime,
    message: str,
) -> dict[str, str]:
    """The extension of a Responder line. ``src`` is an IPv4 field in CEF, so an IPv6
    address goes into ``c6a2`` (Source IPv6 Address) instead; empty MAC and user are
    left out."""
    out: dict[str, str] = {}
    try:
        is_v6 = ipaddress.ip_address(address).version == 6
    except ValueError:
        is_v6 = False
    if is_v6:
        out["c6a2"], out["c6a2Label"] = address, "Source IPv6 Address"
    else:
        out["src"] = address
    if mac:
        out["smac"] = mac
    if user:
        out["suser"] = user
    out.update(
        {
            "cs1Label": "policy",
            "cs1": policy,
            "cs2Label": "trigger",
            "cs2": trigger,
            "cn1Label": "responseId",
            "cn1": str(response_id),
            "act": act,
            "rt": str(int(timestamp.timestamp() * 1000)),
            "msg": message,
        }
    )
    return out


def bsd_prefix(facility: int, severity: int, timestamp: datetime, hostname: str) -> str:
    """``<PRI>Mmm dd HH:MM:SS host `` (RFC 3164, UTC): the prefix of a CEF line."""
    t = timestamp.astimezone(UTC)
    stamp = f"{_MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S}"
    return f"<{facility * 8 + severity}>{stamp} {_header_field(hostname, 255)} "


def octet_counted(payload: bytes) -> bytes:
    """RFC 6587 3.4.1 / RFC 5425 4.3: ``MSG-LEN SP SYSLOG-MSG``."""
    return str(len(payload)).encode() + b" " + payload


# --- sending -----------------------------------------------------------------------


class SyslogSendError(Exception):
    """A message could not be handed to the server; ``retryable`` as for ActionFailed."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


async def send_syslog(
    host: str,
    port: int,
    transport: Transport,
    payload: bytes,
    *,
    tls_context: ssl.SSLContext | None = None,
    timeout: float = 10.0,
) -> None:
    """Send one syslog message (without framing; TCP and TLS add octet counting).

    UDP has no answer: success means the datagram left. TCP and TLS succeed once the
    bytes are written and the connection closed cleanly. Raises SyslogSendError."""
    where = f"syslog server {host}:{port}/{transport}"
    try:
        async with asyncio.timeout(timeout):
            if transport == "udp":
                await _send_udp(host, port, payload, where)
            else:
                if transport == "tls" and tls_context is None:
                    raise SyslogSendError(f"{where}: no TLS context", retryable=False)
                await _send_stream(host, port, payload, tls_context if transport == "tls" else None)
    except TimeoutError:
        raise SyslogSendError(f"{where}: no connection within {timeout:g}s") from None
    except ssl.SSLCertVerificationError as exc:
        raise SyslogSendError(
            f"{where}: the server's TLS certificate is not trusted "
            f"({exc.verify_message or exc.reason}); set ca_file, or verify_tls = false",
            retryable=False,
        ) from None
    except ssl.SSLError as exc:
        raise SyslogSendError(f"{where}: TLS handshake failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise SyslogSendError(f"{where}: connection failed: {exc.strerror or exc}") from None


async def _send_udp(host: str, port: int, payload: bytes, where: str) -> None:
    if len(payload) > MAX_UDP_PAYLOAD:
        raise SyslogSendError(
            f"{where}: a {len(payload)}-byte message does not fit one UDP datagram; "
            "use tcp or tls, or a shorter message",
            retryable=False,
        )
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=(host, port)
    )
    try:
        transport.sendto(payload)
    finally:
        transport.close()


async def _send_stream(
    host: str, port: int, payload: bytes, tls_context: ssl.SSLContext | None
) -> None:
    _, writer = await asyncio.open_connection(
        host, port, ssl=tls_context, server_hostname=host if tls_context else None
    )
    try:
        writer.write(octet_counted(payload))
        await writer.drain()
    finally:
        writer.close()
        # The server may drop the connection as we close: the bytes are out by then.
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


# --- the action --------------------------------------------------------------------


@register
class SyslogAction(ActionType[SyslogConfig]):
    kind: ClassVar[str] = "syslog"
    title: ClassVar[str] = "Send a syslog line (RFC 5424 or CEF) over UDP, TCP or TLS"
    config_type: ClassVar[type[ActionConfig]] = SyslogConfig

    async def run(self, context: ActionContext) -> ActionResult:
        config = self.config
        payload = self.payload(context, datetime.now(UTC))
        tls = self._tls_context() if config.transport == "tls" else None
        try:
            await send_syslog(
                config.host, config.port, config.transport, payload,
                tls_context=tls, timeout=config.timeout_seconds,
            )  # fmt: skip
        except SyslogSendError as exc:
            raise ActionFailed(exc.reason, retryable=exc.retryable) from None
        return ActionResult(
            detail=f"sent a {len(payload)}-byte {config.format} line to "
            f"{config.host}:{config.port}/{config.transport}"
        )

    def payload(self, context: ActionContext, now: datetime) -> bytes:
        """The message this action sends for ``context`` at ``now``."""
        config = self.config
        text = render(config.message, context.values())
        hostname = socket.gethostname()
        if config.format == "cef":
            line = format_cef(
                signature_id=f"responder:{context.phase}",
                name="Response opened" if context.phase == "initial" else "Response closed",
                severity=CEF_SEVERITY[config.severity],
                extension=cef_extension(
                    address=context.address,
                    mac=context.mac,
                    user=context.user,
                    policy=context.policy,
                    response_id=context.response_id,
                    trigger=context.trigger,
                    act="open" if context.phase == "initial" else "close",
                    timestamp=now,
                    message=text,
                ),
            )
            return (bsd_prefix(config.facility, config.severity, now, hostname) + line).encode()
        params = {
            "policy": context.policy,
            "response": str(context.response_id),
            "address": context.address,
            "phase": context.phase,
            "trigger": context.trigger,
        }
        if context.mac:
            params["mac"] = context.mac
        if context.user:
            params["user"] = context.user
        return format_rfc5424(
            facility=config.facility,
            severity=config.severity,
            timestamp=now,
            hostname=hostname,
            app_name=config.app_name,
            procid=str(os.getpid()),
            msgid=f"responder-{context.phase}",
            structured={SD_ID: params},
            message=text,
        )

    def _tls_context(self) -> ssl.SSLContext:
        return outbound_tls_context(
            self.services,
            ca_file=self.config.ca_file,
            verify_tls=self.config.verify_tls,
            what="syslog",
        )
