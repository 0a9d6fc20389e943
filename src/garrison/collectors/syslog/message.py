"""A parsed syslog message, whichever RFC it came in, and the parts both RFCs share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from garrison.collectors.syslog.errors import BAD_PRI, EMPTY, NO_PRI, ParseError

FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


@dataclass(slots=True)
class SyslogMessage:
    facility: int  # 0..23
    severity: int  # 0 (emerg) .. 7 (debug)
    format: str  # "rfc5424" or "rfc3164"
    timestamp: datetime | None = None  # None when the sender gave none (or "-")
    hostname: str = ""
    app_name: str = ""  # RFC 5424 APP-NAME, RFC 3164 TAG
    procid: str = ""
    msgid: str = ""
    # RFC 5424 structured data: SD-ID -> {PARAM-NAME: value}, in the order sent.
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)
    message: str = ""


def split_pri(data: bytes) -> tuple[int, int, bytes]:
    """``<PRI>rest`` -> (facility, severity, rest)."""
    if not data.strip(b" \t\r\n\0"):
        raise ParseError(EMPTY, "an empty message")
    if not data.startswith(b"<"):
        raise ParseError(NO_PRI, f"does not start with <PRI>: {data[:20]!r}")
    close = data.find(b">", 1, 6)
    digits = data[1:close] if close > 0 else b""
    if not digits or not digits.isdigit() or len(digits) > 3:
        raise ParseError(BAD_PRI, f"not a <PRI>: {data[:8]!r}")
    value = int(digits)
    if value > 191:
        raise ParseError(BAD_PRI, f"<{value}> is over 191")
    return value >> 3, value & 7, data[close + 1 :]


def decode_text(data: bytes) -> str:
    """UTF-8 when it is, else Latin-1: old devices send their code page, and a message is
    worth keeping with an odd character rather than dropping."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
