"""Which RFC a message is in, and parsing it with the right one."""

from __future__ import annotations

from datetime import datetime

from garrison.collectors.syslog.message import SyslogMessage, split_pri
from garrison.collectors.syslog.rfc3164 import parse_rfc3164
from garrison.collectors.syslog.rfc5424 import looks_like_rfc5424, parse_rfc5424


def parse_syslog(data: bytes, now: datetime) -> SyslogMessage:
    """Any syslog message: RFC 5424 when the header says version 1, else RFC 3164 (BSD),
    which also covers the bare ``<PRI>CEF:0|...`` a TippingPoint SMS sends. ``now`` (aware)
    gives RFC 3164 timestamps their year. Raises ParseError only."""
    facility, severity, rest = split_pri(data.rstrip(b"\r\n\0"))
    if looks_like_rfc5424(rest):
        return parse_rfc5424(facility, severity, rest)
    return parse_rfc3164(facility, severity, rest, now)
