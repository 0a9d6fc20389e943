"""RFC 3164 (BSD) messages: ``<PRI>Mmm dd HH:MM:SS host tag[pid]: msg``, and the variants
real devices send:

* no timestamp and no host at all (a TippingPoint SMS: ``<37>CEF:0|TippingPoint|...``);
  RFC 3164 4.3.3 says the whole rest is then the message;
* a space-padded or one-digit day, milliseconds, a year after the day (Cisco
  ``Mmm dd yyyy HH:MM:SS``), a leading ``*`` or ``.`` (Cisco's "clock not synchronized")
  and a ``:`` after the time;
* an RFC 3339 timestamp in the BSD slot (rsyslog's forwarding template);
* no host (``Mmm dd HH:MM:SS sshd[12]: msg``) and no tag.

A BSD timestamp has no year and no zone. The year is the one that puts the time within a
month ahead of ``now`` or eleven months behind it: clocks drift a little ahead, buffered
logs arrive late, and a message stamped Dec 31 that arrives on Jan 1 is last year's. The
time is read as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from garrison.collectors.syslog.errors import ParseError
from garrison.collectors.syslog.message import SyslogMessage, decode_text
from garrison.collectors.syslog.rfc5424 import parse_timestamp

MAX_AHEAD = timedelta(days=31)
MAX_BEHIND = timedelta(days=366) - MAX_AHEAD
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_BSD_TIME = re.compile(
    r"[*.]?(?P<month>[A-Za-z]{3}) +(?P<day>\d{1,2}) +(?:(?P<year>\d{4}) +)?"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?:?"
    r"(?: +|$)"
)
_ISO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}[Tt]\S+)(?: +|$)")
_HOST = re.compile(r"([A-Za-z0-9:][A-Za-z0-9._%:\-]*)(?: +|$)")
_TAG = re.compile(r"([^\s:\[\]]{1,48})(?:\[([^\]\s]{0,128})\])?:(?: |$)")


def parse_rfc3164(facility: int, severity: int, rest: bytes, now: datetime) -> SyslogMessage:
    """Parse what follows the PRI. Nearly anything is a valid BSD message, so this raises
    only for what no reading can make sense of (it never does today; the PRI was the test)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    text = decode_text(rest)
    timestamp, text = _timestamp(text, now)
    hostname = ""
    if timestamp is not None:
        match = _HOST.match(text)
        if match is not None and not match.group(1).endswith(":"):
            hostname, text = match.group(1), text[match.end() :]
    app, procid = "", ""
    match = _TAG.match(text)
    if match is not None:
        app, procid, text = match.group(1), match.group(2) or "", text[match.end() :]
    return SyslogMessage(
        facility=facility,
        severity=severity,
        format="rfc3164",
        timestamp=timestamp,
        hostname=hostname,
        app_name=app,
        procid=procid,
        message=text,
    )


def _timestamp(text: str, now: datetime) -> tuple[datetime | None, str]:
    match = _ISO_TIME.match(text)
    if match is not None:
        try:
            return parse_timestamp(match.group(1).encode()), text[match.end() :]
        except ParseError:
            return None, text
    match = _BSD_TIME.match(text)
    if match is None:
        return None, text
    month_name = match.group("month").lower()
    if month_name not in MONTHS:
        return None, text
    month = MONTHS.index(month_name) + 1
    day, hour = int(match.group("day")), int(match.group("hour"))
    minute, second = int(match.group("minute")), min(int(match.group("second")), 59)
    micro = int((match.group("fraction") or "0").ljust(6, "0"))
    if match.group("year"):
        years = [int(match.group("year"))]
    else:
        years = [now.year, now.year - 1, now.year + 1]
    for year in years:
        try:
            stamp = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
        except ValueError:  # Feb 29 outside a leap year, day 31 of a short month, ...
            continue
        if len(years) == 1 or -MAX_BEHIND <= stamp - now <= MAX_AHEAD:
            return stamp, text[match.end() :]
    return None, text
